"""A correction right after an answer ("actually make that NPQSL", "sorry, I meant the SENCO
one", "change it to NPQLT"), or the same question for another programme ("what about NPQSL?").
The answer just given is given again for the programme meant, and a reminder just set up is
moved to it. Before, the programme was described instead (and the reminder stayed on the one
not meant)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions import clock
from actions.applying import ActionHowToApply
from actions.deadlines import ActionDeadlines
from actions.funding import ActionEligibility, ActionFunding
from actions.hubs import ActionFindHub
from actions.support import (
    CORRECTION,
    in_session,
    previous_action,
    reminder_days,
    respond,
    typed_text,
)
from npq.answers import Answer
from npq.people import subscribed_answer, switch_reminder

# Answers about one programme, given again for the one meant (run here: a FollowupAction to them
# left Rasa's rules with nothing to predict after it, and its core fallback said "not sure").
REDONE: dict[str, Action] = {action.name(): action for action in (
    ActionDeadlines(), ActionFunding(), ActionEligibility(), ActionFindHub(), ActionHowToApply())}
REMINDERS = "action_subscribe_reminders"


def corrects(tracker: Tracker) -> str | None:
    """The answer this message corrects, or None."""
    before = previous_action(tracker)
    text = (typed_text(tracker) or "")[:300]
    if (before not in REDONE and before != REMINDERS) or not CORRECTION.search(text):
        return None
    return before


async def correct(dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any],
                  code: str) -> list[EventType] | None:
    """The corrected answer for programme `code`, or None when the message corrects nothing."""
    before = corrects(tracker)
    if before is None:
        return None
    if before != REMINDERS:  # the message names `code`, which the answer reads
        events: list[EventType] = await REDONE[before].run(dispatcher, tracker, domain)
        return events
    was = _last_reminder_programme(tracker)

    def store(session: Session) -> Answer:
        switched = switch_reminder(session, chat_id=tracker.sender_id, from_code=was,
                                   to_code=code, now=clock.now())
        answer = subscribed_answer(switched, days=reminder_days())
        if was and was != code:
            answer = Answer(f"Changed: no more {was} reminders. " + answer.text, answer.buttons)
        return answer

    return respond(dispatcher, tracker, await in_session(store), SlotSet("npq", code))


def _last_reminder_programme(tracker: Tracker) -> str | None:
    """The programme of the reminder just set up (the form's slot, cleared after it)."""
    values = [e.get("value") for e in tracker.events
              if e.get("event") == "slot" and e.get("name") == "reminder_programme"
              and isinstance(e.get("value"), str)]
    last = values[-1] if values else None
    return last if last and last.isupper() else None  # not "any programme"
