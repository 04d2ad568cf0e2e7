"""action_funding and action_eligibility: who pays, and can I apply, from the funding rules."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import clock
from actions.support import (
    ask_next,
    button_code,
    in_session,
    latest_entity,
    place_abroad,
    programme_mentioned,
    respond,
    text_slot,
    typed_text,
    with_asides,
)
from npq.funding import eligibility_answer, funding_answer, outside_england_answer
from npq.funding_rules import parse_setting

QUESTIONS = {"ask_funding": funding_answer, "ask_eligibility": eligibility_answer}


async def reply_about_funding(dispatcher: CollectingDispatcher, tracker: Tracker, question: str,
                              *, setting: str | None = None) -> list[EventType]:
    """Answer `question` (ask_funding or ask_eligibility); when the answer depends on where the
    user works, it offers the settings, and a typed reply ("an academy") continues it."""
    abroad = place_abroad(tracker)
    if abroad is not None and not setting:
        return respond(dispatcher, tracker, outside_england_answer(abroad.name, abroad.country))
    said = parse_setting(typed_text(tracker))  # "I'm a childminder": kept for later questions
    setting = setting or latest_entity(tracker, "setting") or (
        said if said not in (None, "school") else None) or text_slot(tracker, "setting")
    answer = await in_session(
        QUESTIONS[question], today=clock.today(), programme_code=programme_mentioned(tracker),
        setting=setting,
        phase=latest_entity(tracker, "phase") or text_slot(tracker, "phase"),
        role=latest_entity(tracker, "role") or text_slot(tracker, "role"),
        question=typed_text(tracker))
    code = button_code(answer)
    # "is NPQH funded and when do I need to apply by?": both get an answer
    answer = await with_asides(tracker, answer, code or programme_mentioned(tracker),
                               today=clock.today(), funding=False)
    asks_setting = any("setting" in b.entities for b in answer.buttons)
    events = [SlotSet("npq", code)] if code else []
    if setting:
        events.append(SlotSet("setting", setting))
    return respond(dispatcher, tracker, answer, *events,
                   asked=ask_next("setting", intent=question, npq=code) if asks_setting else None)


class ActionFunding(Action):
    def name(self) -> str:
        return "action_funding"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        """Is it funded, and who pays otherwise."""
        return await reply_about_funding(dispatcher, tracker, "ask_funding")


class ActionEligibility(Action):
    def name(self) -> str:
        return "action_eligibility"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        """Can I apply (and be funded) for this NPQ."""
        return await reply_about_funding(dispatcher, tracker, "ask_eligibility")
