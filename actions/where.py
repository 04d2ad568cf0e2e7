"""A bare reply to "Where should I look?": the words are the place, even when the model found
no place in them ("bradfrod", "notingham" read as inform or unsure, with no location entity).
Answered as the question asked (hubs, or deadlines) for the place they name, a "did you mean" for
a misspelling, or "I couldn't find a place called ..." (instead of "Sorry, I didn't understand
that", which lost the answer)."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.deadlines import reply_with_deadlines
from actions.hubs import reply_with_hubs
from actions.support import pending, typed_text
from npq import geo

MAX_WORDS, MAX_CHARS = 5, 60  # a place name typed on its own; longer is a sentence
# A reply the model did not take for an answer (unsure, or off-topic) is the place only when it
# names one, or a near miss of one, or is this short after "Where should I look?" ("Kjdhf": "I
# couldn't find a place called"; after a list of deadlines, "gnorf" is no attempt at a place).
MAX_UNREAD_WORDS = 2


def place_reply(tracker: Tracker) -> str | None:
    """The typed text, when a place was asked for outside a form and it is short enough to be
    one (a letter or digit in it), else None."""
    text = (typed_text(tracker) or "").strip()
    if pending(tracker).get("kind") != "place" or tracker.active_loop_name:
        return None
    if not text or len(text) > MAX_CHARS or len(text.split()) > MAX_WORDS or not any(
            c.isalnum() for c in text):
        return None
    return text


def unread_place_reply(tracker: Tracker) -> str | None:
    """place_reply, for a message the model did not read as an answer: only a place, a near
    miss of one, or a word or two after "Where should I look?" ("how much does it cost" is a
    question, not a town)."""
    text = place_reply(tracker)
    asked_where = pending(tracker).get("intent") == "find_hub"  # not only deadlines shown
    if text is None or (asked_where and len(text.split()) <= MAX_UNREAD_WORDS):
        return text
    found = geo.resolve_place(text)
    return text if found.place or found.suggestions or found.outside_uk else None


async def answer_where(dispatcher: CollectingDispatcher, tracker: Tracker,
                       text: str) -> list[EventType]:
    """Answer the question that asked where, for the place `text` names."""
    if pending(tracker).get("intent") == "ask_deadlines":
        return await reply_with_deadlines(dispatcher, tracker, place_text=text)
    return await reply_with_hubs(dispatcher, tracker, place_text=text)
