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

MAX_WORDS, MAX_CHARS = 5, 60  # a place name typed on its own; longer is a sentence


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


async def answer_where(dispatcher: CollectingDispatcher, tracker: Tracker,
                       text: str) -> list[EventType]:
    """Answer the question that asked where, for the place `text` names."""
    if pending(tracker).get("intent") == "ask_deadlines":
        return await reply_with_deadlines(dispatcher, tracker, place_text=text)
    return await reply_with_hubs(dispatcher, tracker, place_text=text)
