"""recommend_form and action_recommend: which NPQ suits me, asking only for what is missing.

The core decides which facts a recommendation still needs (`missing_facts`); the form asks for
those alone, and reads role, phase and ambition from whatever the user writes, in any order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import clock
from actions.leaving import leaving, left_early
from actions.support import (
    in_session,
    latest_intent,
    latest_text,
    respond,
    typed_text,
    utter,
    with_asides,
)
from npq.intents import ANSWERS, FALLBACK
from npq.profile import AMBITIONS, Profile, parse_ambition, parse_phase, parse_role, read_profile
from npq.recommend import missing_facts, question_for, recommendation_answer
from npq.vocabulary import PHASES, ROLES

FACTS = {"role": ROLES, "phase": PHASES, "ambition": AMBITIONS}
# A message that starts the form ("I'm a deputy head, which NPQ?") is read for facts too.
READ_INTENTS = frozenset({*ANSWERS, FALLBACK, "recommend_npq"})


def profile_of(slots: dict[str, Any]) -> Profile:
    return Profile(**{fact: value if isinstance(value := slots.get(fact), str) and value in values
                      else None for fact, values in FACTS.items()})


class ValidateRecommendForm(FormValidationAction):
    def name(self) -> str:
        return "validate_recommend_form"

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> list[str]:
        """The facts already known (so they are validated and kept) and those the
        recommendation still needs (asked for in this order), recomputed after every answer."""
        missing = missing_facts(profile_of(tracker.slots))
        return [fact for fact in FACTS if fact in missing or tracker.get_slot(fact) is not None]

    async def extract_role(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                           domain: DomainDict) -> dict[str, Any]:
        return _read_facts(tracker)

    async def extract_phase(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                            domain: DomainDict) -> dict[str, Any]:
        return _read_facts(tracker)

    async def extract_ambition(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                               domain: DomainDict) -> dict[str, Any]:
        return _read_facts(tracker)

    def validate_role(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                      domain: DomainDict) -> dict[str, Any]:
        """A role named as an aspiration ("I want to become a headteacher") is an ambition:
        the role stays what it was before this message."""
        read = read_profile(typed_text(tracker))
        if read.role is None and read.ambition is not None:
            return {"role": _slot_before_this_message(tracker, "role"),
                    "ambition": tracker.get_slot("ambition") or read.ambition}
        if read.role is not None and read.ambition is not None and value != read.role:
            # "I'm a deputy head and want to become a headteacher": the model tags both roles,
            # and the slot may hold the one in the aspiration
            return {"role": read.role}
        if value == "headteacher" and read.role == "new_headteacher":
            # "I've just been appointed as a headteacher from September": the entity is the
            # word, the sentence says how long
            return {"role": read.role}
        return {"role": _known(value, ROLES, parse_role)}

    def validate_phase(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                       domain: DomainDict) -> dict[str, Any]:
        return {"phase": _known(value, PHASES, parse_phase)}

    def validate_ambition(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                          domain: DomainDict) -> dict[str, Any]:
        return {"ambition": _known(value, AMBITIONS, parse_ambition)}


def _slot_before_this_message(tracker: Tracker, slot: str) -> Any:
    last_user = max((i for i, e in enumerate(tracker.events) if e.get("event") == "user"),
                    default=len(tracker.events))
    values = [e.get("value") for e in tracker.events[:last_user]
              if e.get("event") == "slot" and e.get("name") == slot]
    return values[-1] if values else None


def _known(value: Any, values: dict[str, str], parse: Callable[[str], str | None]) -> str | None:
    """A canonical value; an entity the synonyms did not normalise ("year 4 teacher") is read
    again by the core's parser."""
    if not isinstance(value, str):
        return None
    return value if value in values else parse(value)


def _read_facts(tracker: Tracker) -> dict[str, Any]:
    """Facts the user's own words give that the slots don't have yet (entities and buttons
    fill the slots through their mappings; this reads free text such as "I run maths in a
    junior school")."""
    if latest_intent(tracker) not in READ_INTENTS:
        return {}
    read = read_profile(latest_text(tracker))
    if read.ambition is None and tracker.get_slot("requested_slot") == "ambition":
        # a bare reply to "what would you like to do next?": "not sure yet", "SLT"
        read = replace(read, ambition=parse_ambition(latest_text(tracker)))
    return {fact: getattr(read, fact) for fact in FACTS
            if tracker.get_slot(fact) is None and getattr(read, fact) is not None}


class ActionAskRole(Action):
    def name(self) -> str:
        return "action_ask_role"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        """What's your role? (with the common roles as buttons)"""
        return _ask(dispatcher, tracker, domain, "role")


class ActionAskPhase(Action):
    def name(self) -> str:
        return "action_ask_phase"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        """Which phase do you work in?"""
        return _ask(dispatcher, tracker, domain, "phase")


class ActionAskAmbition(Action):
    def name(self) -> str:
        return "action_ask_ambition"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        """What would you like to do next in your career?"""
        return _ask(dispatcher, tracker, domain, "ambition")


def _ask(dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any],
         fact: str) -> list[EventType]:
    """The question, unless the user has moved on: then the form ends (actions/leaving.py)."""
    left = leaving(tracker, domain)
    if left:
        return left
    utter(dispatcher, question_for(fact))
    return []


class ActionRecommend(Action):
    def name(self) -> str:
        return "action_recommend"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        """The recommendation. Role and phase are kept (facts about the person, used later for
        funding and leads); the ambition is cleared, so the next "which NPQ?" asks again. A
        place named in the message ("a head of year in Bradford") is kept for "nearest hub?".
        Nothing when the form was left unfinished (actions/leaving.py)."""
        if left_early(tracker, "recommend_form"):
            return []
        answer = await in_session(recommendation_answer, profile=profile_of(tracker.slots))
        code = next((b.entities["npq"] for b in answer.buttons if "npq" in b.entities), None)
        answer = await with_asides(tracker, answer, code, today=clock.today())
        return respond(dispatcher, tracker, answer, SlotSet("ambition", None),
                       *([SlotSet("npq", code)] if code else []))
