"""Schools becoming delivery partners: the steps, what we need, what partners get, and the
partner-fit check's assessment with its area gap analysis (the check's form and questions are in
actions/partner_fit.py)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions import clock
from actions.leaving import left_early
from actions.partner_fit import NOT_SURE
from actions.support import (
    ask_next,
    in_session,
    respond,
    typed_text,
    utter,
)
from npq.answers import Answer
from npq.partners import (
    FitAnswers,
    also_asks_benefits,
    area_from_slot,
    become_partner_answer,
    enquiry_recorded_answer,
    partner_benefits_answer,
    partner_fit_answer,
    partner_requirements_answer,
    record_partner_enquiry,
)

FORM_SLOTS = ("organisation_type", "partner_area", "works_with_others", "facilities",
              "facilitators", "first_programme")


class ActionBecomePartner(Action):
    def name(self) -> str:
        return "action_become_partner"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        """How partnership works, step by step (and what partners get, when asked too)."""
        return await _with_benefits(dispatcher, tracker, await in_session(
            become_partner_answer, question=typed_text(tracker)))


class ActionPartnerRequirements(Action):
    def name(self) -> str:
        return "action_partner_requirements"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        """What a partner needs to have in place (and what partners get, when asked too)."""
        return await _with_benefits(dispatcher, tracker, await in_session(
            partner_requirements_answer, question=typed_text(tracker)))


async def _with_benefits(dispatcher: CollectingDispatcher, tracker: Tracker,
                         answer: Answer) -> list[EventType]:
    """The answer, then what partners get when the same message asks that too ("what would
    the commitment look like and what support would we get?")."""
    if not also_asks_benefits(typed_text(tracker)):
        return respond(dispatcher, tracker, answer)
    utter(dispatcher, Answer(answer.text))  # the buttons go under the second answer
    return respond(dispatcher, tracker, await in_session(partner_benefits_answer))


class ActionPartnerBenefits(Action):
    def name(self) -> str:
        return "action_partner_benefits"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        """What partners receive."""
        return respond(dispatcher, tracker, await in_session(partner_benefits_answer))


class ActionPartnerFit(Action):
    def name(self) -> str:
        return "action_partner_fit"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        """The per-criterion assessment and area gaps, then an offer to tell the team. The answers
        wait in `pending` for that yes, and the form's slots are cleared for a next check.
        Nothing when the form was left unfinished: its answers stay for "are we a good fit?"
        (actions/leaving.py)."""
        if left_early(tracker, "partner_fit_form"):
            return []
        answers = fit_answers(tracker.slots)
        answer = await in_session(partner_fit_answer, answers=answers)
        stored = {slot: tracker.get_slot(slot) for slot in FORM_SLOTS}
        return respond(dispatcher, tracker, answer, *[SlotSet(s, None) for s in FORM_SLOTS],
                       asked=ask_next("partner_enquiry", answers=stored))


def fit_answers(slots: Any) -> FitAnswers:
    """The form's slots as the core's FitAnswers; a value that isn't text counts as unanswered."""
    def text(name: str) -> str | None:
        value = slots.get(name) if isinstance(slots, dict) else None
        return value if isinstance(value, str) else None

    def yes(value: str | None) -> bool | None:
        return {"yes": True, "no": False}.get(value or "")

    first = text("first_programme")
    return FitAnswers(
        organisation_type=text("organisation_type"),
        area=area_from_slot(slots.get("partner_area")) if isinstance(slots, dict) else None,
        facilities=yes(text("facilities")),
        facilitators=text("facilitators"),
        programme_code=first if first and first != NOT_SURE else None,
        works_with_others=yes(text("works_with_others")),
    )


async def record_enquiry(dispatcher: CollectingDispatcher, tracker: Tracker,
                         answers: dict[str, Any]) -> list[EventType]:
    """The user said yes to passing the fit check to staff: store it and confirm."""
    def store(session: Session) -> Answer:
        record_partner_enquiry(session, tracker.sender_id, fit_answers(answers), now=clock.now(),
                               organisation=None)
        return enquiry_recorded_answer(session)

    return respond(dispatcher, tracker, await in_session(store))

