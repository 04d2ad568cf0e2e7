"""The partner-fit check: the form that asks a school about itself, criterion by criterion,
reading what it says in passing, and its questions (the assessment is in actions/partners.py)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.leaving import leaving
from actions.support import (
    AskInFixedWords,
    coordinates,
    earlier_messages,
    in_session,
    is_answer,
    latest_entity,
    latest_intent,
    say,
    typed_option,
    typed_text,
    utter,
)
from npq import geo
from npq.answers import Answer, Button
from npq.intents import PARTNERSHIP
from npq.partners import (
    CROSS_SCHOOL,
    ORGANISATION_TYPES,
    area_from_slot,
    area_line,
    area_to_slot,
    asks_about_gap,
    criterion_question,
    parse_facilitators,
    parse_organisation_type,
    parse_yes_no,
    read_area,
    states_facilitators,
    states_facilities,
)
from npq.programmes import choose_programme_answer, current_code

NOT_SURE = "not_sure"  # "not sure yet" which programme they would start with
YES_NO = {True: "yes", False: "no"}


class ValidatePartnerFitForm(FormValidationAction):
    def name(self) -> str:
        return "validate_partner_fit_form"

    async def extract_organisation_type(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                        domain: DomainDict) -> dict[str, Any]:
        """Read from any answer, or from the message that started the form ("we're a MAT")."""
        if tracker.get_slot("organisation_type") or not _readable(tracker, "organisation_type"):
            return {}
        kind = parse_organisation_type(typed_text(tracker))
        if kind is None and _starting(tracker):  # "we're a primary school ..." said earlier
            kind = next(filter(None, (parse_organisation_type(str(message.get("text") or ""))
                                      for message in _earlier_partner_messages(tracker))), None)
        return {"organisation_type": kind} if kind else {}

    async def extract_partner_area(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: DomainDict) -> dict[str, Any]:
        """A place named in any answer, a location shared when asked, or the typed answer."""
        if tracker.get_slot("partner_area"):
            return {}
        shared = coordinates(tracker)
        if shared and tracker.get_slot("requested_slot") == "partner_area":
            return {"partner_area": area_to_slot(geo.place_from_coordinates(*shared))}
        place = latest_entity(tracker, "postcode") or latest_entity(tracker, "location")
        if not (is_answer(tracker) or latest_intent(tracker) == "partner_fit_check"):
            return {}  # "is there a hub near Leeds?" is a question of its own
        if place is None and _starting(tracker):  # "... a school in Keighley" said earlier
            place = next(filter(None, (_named_place(message)
                                       for message in _earlier_partner_messages(tracker))), None)
        if not (place or _requested(tracker, "partner_area")):
            return {}
        typed = typed_text(tracker)
        if place is None and _states_other_criteria(typed) and read_area(typed).place is None:
            return {}  # "we're part of a MAT with 6 schools": taken, and the place asked again
        return {"partner_area": place or typed_text(tracker)}

    async def extract_facilities(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                 domain: DomainDict) -> dict[str, Any]:
        """Yes or no when asked; a training space said in passing at any point ("we've got a
        lecture theatre") is a yes."""
        if _said_in_passing(tracker, "facilities", states_facilities):
            return {"facilities": "yes"}
        return _yes_no(tracker, "facilities")

    async def extract_facilitators(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: DomainDict) -> dict[str, Any]:
        if _said_in_passing(tracker, "facilitators", states_facilitators):
            return {"facilitators": "yes"}  # "our deputies run CPD across the trust"
        if tracker.get_slot("requested_slot") != "facilitators":
            return {}
        typed = typed_option(tracker, "ask_facilitators")
        if typed in ("yes", "keen", "no"):
            return {"facilitators": typed}
        if not _requested(tracker, "facilitators"):
            return {}
        answer = latest_entity(tracker, "answer")
        if answer in ("yes", "keen", "no"):
            return {"facilitators": answer}
        if latest_intent(tracker) in ("affirm", "deny"):
            return {"facilitators": "yes" if latest_intent(tracker) == "affirm" else "no"}
        read = parse_facilitators(typed_text(tracker))
        return {"facilitators": read} if read else {}

    async def extract_works_with_others(self, dispatcher: CollectingDispatcher,
                                        tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        """Yes or no; or what the school is, when that says it ("we're a federation of 3
        primaries": yes, and a federation)."""
        found = _yes_no(tracker, "works_with_others")
        if found or tracker.get_slot("works_with_others") or not _readable_anytime(tracker):
            return found
        kind = parse_organisation_type(typed_text(tracker))
        return {"works_with_others": "yes", "organisation_type": kind} if kind in CROSS_SCHOOL \
            else {}

    async def extract_first_programme(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                      domain: DomainDict) -> dict[str, Any]:
        named = latest_entity(tracker, "npq")
        if not _requested(tracker, "first_programme"):
            # "probably the SENCO one" in an answer to another question: taken
            passing = named and tracker.get_slot("first_programme") is None and \
                _readable_anytime(tracker)
            return {"first_programme": named} if passing else {}
        named = named or (
            NOT_SURE if latest_entity(tracker, "answer") == NOT_SURE else None)
        return {"first_programme": named or typed_text(tracker)}

    def validate_organisation_type(self, value: Any, dispatcher: CollectingDispatcher,
                                   tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        if isinstance(value, str) and value in ORGANISATION_TYPES:
            return {"organisation_type": value}
        kind = parse_organisation_type(value) if isinstance(value, str) else None
        return {"organisation_type": kind}

    async def validate_partner_area(self, value: Any, dispatcher: CollectingDispatcher,
                                    tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        """A place in England, stored with its coordinates; otherwise say why and ask again."""
        if isinstance(value, dict):
            return {"partner_area": value if area_from_slot(value) else None}
        resolution = read_area(value if isinstance(value, str) else None)
        place = resolution.place
        if place is not None and place.country == "England":
            return {"partner_area": area_to_slot(place)}
        if place is not None:
            dispatcher.utter_message(text=f"{place.name} is in {place.country}. Our hubs deliver "
                                     "NPQs in England only.")
        elif resolution.suggestions:
            utter(dispatcher, Answer("Did you mean one of these?", tuple(
                Button(name, "inform", {"location": name}) for name in resolution.suggestions)))
        else:
            dispatcher.utter_message(text="Sorry, I couldn't find that place.")
        return {"partner_area": None}

    async def validate_first_programme(self, value: Any, dispatcher: CollectingDispatcher,
                                       tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        if value == NOT_SURE or (isinstance(value, str) and "not sure" in value.lower()):
            return {"first_programme": NOT_SURE}
        code = await in_session(current_code, text=value) if isinstance(value, str) else None
        if code is None:
            dispatcher.utter_message(text="Sorry, I don't know that programme. Pick one below, "
                                     "or \"not sure yet\".")
        return {"first_programme": code}


def _requested(tracker: Tracker, slot: str) -> bool:
    return tracker.get_slot("requested_slot") == slot and is_answer(tracker)


def _readable_anytime(tracker: Tracker) -> bool:
    """The message answers the check (or starts it), whichever question it was asked."""
    return tracker.get_slot("requested_slot") is not None and is_answer(tracker) or \
        latest_intent(tracker) == "partner_fit_check"


def _said_in_passing(tracker: Tracker, slot: str, states: Callable[[str | None], bool]) -> bool:
    """A criterion not answered yet, stated in an answer to any question of the check."""
    return tracker.get_slot(slot) is None and _readable_anytime(tracker) and \
        states(typed_text(tracker))


def _states_other_criteria(text: str | None) -> bool:
    return (parse_organisation_type(text) in CROSS_SCHOOL or states_facilities(text)
            or states_facilitators(text))


def _readable(tracker: Tracker, slot: str) -> bool:
    """This slot was asked for, or the message started the form."""
    return _requested(tracker, slot) or latest_intent(tracker) == "partner_fit_check"


EARLIER_MESSAGES = 10


def _starting(tracker: Tracker) -> bool:
    """The fit check starts with this message (nothing has been asked yet)."""
    return tracker.get_slot("requested_slot") is None and \
        latest_intent(tracker) == "partner_fit_check"


def _earlier_partner_messages(tracker: Tracker) -> list[dict[str, Any]]:
    """The parse data of this session's recent messages about partnership, latest first."""
    return [message for message in earlier_messages(tracker, EARLIER_MESSAGES)
            if (message.get("intent") or {}).get("name") in PARTNERSHIP]


def _named_place(parsed: dict[str, Any]) -> str | None:
    for kind in ("postcode", "location"):
        value = next((e.get("value") for e in parsed.get("entities") or []
                      if e.get("entity") == kind), None)
        if isinstance(value, str) and value.strip():
            return value
    return None


def _yes_no(tracker: Tracker, slot: str) -> dict[str, Any]:
    if not _requested(tracker, slot):
        return {}
    answer = latest_entity(tracker, "answer")
    if answer in ("yes", "no"):
        return {slot: answer}
    if latest_intent(tracker) in ("affirm", "deny"):
        return {slot: "yes" if latest_intent(tracker) == "affirm" else "no"}
    read = parse_yes_no(typed_text(tracker))
    return {slot: YES_NO[read]} if read is not None else {}


class AskCriterion(AskInFixedWords, ABC):
    """A fit-check question: partner.yaml's question for the criterion (staff edit it), in
    replies.yml's `ask_<slot>` with its buttons; replies.yml's default when the criterion is
    missing."""

    criterion = ""

    @abstractmethod
    def name(self) -> str: ...

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        """The criterion's question, unless the user has moved on: then the check ends
        (actions/leaving.py)."""
        left = leaving(tracker, domain)
        if left:
            return left
        await answer_gap_first(dispatcher, tracker)
        question = await in_session(criterion_question, key=self.criterion)
        say(dispatcher, self.name().removeprefix("action_"), question=question or "")
        return []


async def answer_gap_first(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """'is there a gap in our area?' with the area known (this message or an earlier one): the
    area finding straight away, before the fit check's questions, rather than only at their
    end."""
    if latest_intent(tracker) != "partner_fit_check" or not asks_about_gap(typed_text(tracker)):
        return
    place = area_from_slot(tracker.get_slot("partner_area"))
    if place is None:
        return
    line = await in_session(area_line, place=place)
    dispatcher.utter_message(text=f"Your area first: {line}\n\nTo see whether you'd make a good "
                                  "partner overall, a few quick questions.")


class ActionAskOrganisationType(AskCriterion):
    """What kind of organisation are you? (a button for each kind)"""

    criterion = "set_up"

    def name(self) -> str:
        return "action_ask_organisation_type"


class ActionAskPartnerArea(AskCriterion):
    """Which town or postcode? (front ends may offer to share a location: ask_location)"""

    criterion = "know_your_area"

    def name(self) -> str:
        return "action_ask_partner_area"


class ActionAskWorksWithOthers(AskCriterion):
    """Shared values: do you already work with other schools? (yes, no)"""

    criterion = "shared_values"

    def name(self) -> str:
        return "action_ask_works_with_others"


class ActionAskFacilities(AskCriterion):
    """A good training space for face-to-face sessions? (yes, no)"""

    criterion = "facilities"

    def name(self) -> str:
        return "action_ask_facilities"


class ActionAskFacilitators(AskCriterion):
    """Senior leaders who run CPD, or keen to facilitate? (experienced, keen, not yet)"""

    criterion = "facilitators"

    def name(self) -> str:
        return "action_ask_facilitators"


class ActionAskFirstProgramme(Action):
    def name(self) -> str:
        return "action_ask_first_programme"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        """Which programme would you start with? (new partners often start with one)"""
        left = leaving(tracker, domain)
        if left:
            return left
        utter(dispatcher, await in_session(
            choose_programme_answer, question="New partners often start by delivering one "
            "programme. Which would you start with?",
            extra=Button("Not sure yet", "inform", {"answer": NOT_SURE})))
        return []
