"""Leaving a form when the user has moved on.

Inside a form, a question of another kind is answered and the form asks its own question again
(nlu_data/rules/forms.yml). Once is helpful; every time is nagging: a school that asks about
partnership in the middle of "which NPQ suits me?" was asked its career plans under every answer.
So the form is left, without a word, when the user asks about the other audience's journey (a
partnership question inside a candidate's form, or a candidate's question inside the partner
check), or when its question has gone unanswered twice in a row for other questions (a message
it could not understand is not counted: the question is asked again). What the form had learned
stays in the slots, so asking again carries on from there.
"""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.types import DomainDict

from actions.support import latest_intent
from npq.intents import JOURNEYS, PARTNERSHIP

# A candidate's questions a school in the partner check has no use for ("how do we apply?" and
# "what does NPQSL involve?" can be the school's own questions, so they are not here).
CANDIDATE_ONLY = frozenset({"recommend_npq", "ask_deadlines", "ask_eligibility",
                            "subscribe_reminders"})
QUESTIONS = frozenset(JOURNEYS)
# A form's question left unanswered for another question this many times in a row ends it.
UNANSWERED_LIMIT = 2


def unanswered(tracker: Tracker, form: str, slots: frozenset[str]) -> int:
    """How many user messages in a row the running form could not use because they asked
    something else (a journey of their own), since one of its slots was last filled or it
    started. A message nobody understood doesn't count: its sender was trying to answer, and
    the question is asked again."""
    count, rejected = 0, False
    for event in reversed(tracker.events):
        kind, name = event.get("event"), event.get("name")
        if kind == "action_execution_rejected" and name == form:
            rejected = True
        elif kind == "user":
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            count += rejected and intent in QUESTIONS
            rejected = False
        elif (kind == "active_loop" and name == form) or (
                kind == "slot" and name in slots and event.get("value") is not None):
            break  # the form started, or took an answer
    return count


def answered_before(tracker: Tracker, form: str) -> str | None:
    """The action that answered another question just before the form came back to ask again;
    None when the form is reading the user's message itself. (Rasa hands the ask action a
    tracker that ends with the form's own execution.)"""
    actions = [e.get("name") for e in reversed(tracker.events) if e.get("event") == "action"]
    if actions and actions[0] == form:
        actions = actions[1:]
    last = actions[0] if actions else None
    return None if last in (None, "action_listen", form) else str(last)


def moved_on(tracker: Tracker, form: str, slots: frozenset[str],
             elsewhere: frozenset[str]) -> bool:
    """Whether the form, about to ask its question again after answering another one, should
    stop instead. Only then: a message the form reads first is never judged here."""
    if answered_before(tracker, form) is None:
        return False
    return (latest_intent(tracker) in elsewhere
            or unanswered(tracker, form, slots) >= UNANSWERED_LIMIT)


# The other audience's journeys, for each form that leaves on them.
ELSEWHERE = {"recommend_form": PARTNERSHIP, "partner_fit_form": CANDIDATE_ONLY}


def leaving(tracker: Tracker, domain: DomainDict) -> list[EventType]:
    """The events that end the running form when the user has moved on, else none. Its ask
    actions call this before asking: Rasa does not validate a form that comes back after an
    interruption, it only asks again."""
    form = tracker.active_loop_name
    if form not in ELSEWHERE:
        return []
    slots = frozenset(domain.get("forms", {}).get(form, {}).get("required_slots", ()))
    if moved_on(tracker, form, slots, ELSEWHERE[form]):
        return [ActiveLoop(None), SlotSet("requested_slot", None)]
    return []


def left_early(tracker: Tracker, form: str) -> bool:
    """Whether the form that just ended was left (see `leaving`) rather than completed:
    the message it ended on was one it could not use. Its submit action then does nothing."""
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            return False
        if kind == "action_execution_rejected" and event.get("name") == form:
            return True
    return False

