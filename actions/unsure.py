"""A long message the model is unsure about because it asks two things at once about a named
programme ("Dear Sir/Madam, ... the NPQ in Senior Leadership. Could you please advise on the
application process and the closing date?"): the model's confidence is split between the two
questions, so neither reaches the fallback threshold. Both are answered instead of "Did you
mean...?": the programme is named, and each answer is about it, so a wrong guess costs little.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.corrections import REDONE
from actions.support import latest_entity, typed_text

# The information journeys (no form, no row written), by intent, with the action answering each.
INFORMATION = {"ask_deadlines": "action_deadlines", "ask_funding": "action_funding",
               "ask_eligibility": "action_eligibility", "how_to_apply": "action_how_to_apply",
               "find_hub": "action_find_hub"}
MIN_WORDS = 10
FIRST, SECOND = 0.3, 0.15  # the confidence each of the two questions needs


def questions_asked(tracker: Tracker) -> list[str]:
    """The one or two information journeys a long, unsure message about a named programme
    asks, likeliest first; none when it is short, names no programme, or the model's best
    guesses are not questions of that kind."""
    words = len((typed_text(tracker) or "").split())
    if words < MIN_WORDS or latest_entity(tracker, "npq") is None:
        return []
    ranking = [(c.get("name"), float(c.get("confidence") or 0))
               for c in tracker.latest_message.get("intent_ranking") or []
               if c.get("name") != "nlu_fallback"]
    asked = [(name, confidence) for name, confidence in ranking[:3] if name in INFORMATION]
    if not asked or asked[0][1] < FIRST:
        return []
    return [name for i, (name, confidence) in enumerate(asked[:2])
            if i == 0 or confidence >= SECOND]


async def answer_questions(dispatcher: CollectingDispatcher, tracker: Tracker,
                           domain: dict[str, Any], intents: list[str]) -> list[EventType]:
    events: list[EventType] = []
    for intent in intents:
        events += await REDONE[INFORMATION[intent]].run(dispatcher, tracker, domain)
    return events
