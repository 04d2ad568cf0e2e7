"""The place a conversation is about: the last town or postcode the user asked about, so that
"when's the closing date?" after "hubs near BD21" answers for BD21. Kept in the `place` slot
(the conversation's tracker, which /forget deletes with the rest)."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet

from actions.support import coordinates, latest_entity, text_slot, typed_text
from npq import geo

MAX_TEXT = 1000


def named_place(tracker: Tracker) -> str | None:
    """The place this message names as an entity (a postcode before a town)."""
    return latest_entity(tracker, "postcode") or latest_entity(tracker, "location")


def place_for_answer(tracker: Tracker) -> str | None:
    """The place to answer for: the one this message names, else, when the message gives no
    place at all (no entity, no shared location, no place name in its words), the one the
    conversation is about."""
    named = named_place(tracker)
    if named or coordinates(tracker):
        return named
    text = typed_text(tracker) or ""
    found = geo.find_place_in_text(text[:MAX_TEXT]) if text else None
    if found is not None and (found.place or found.suggestions or found.outside_uk):
        return None  # the answer reads the place from the words itself
    return text_slot(tracker, "place")


def remember_place(tracker: Tracker, place_text: str | None) -> list[EventType]:
    """Remember the place asked about when it is a real place in England (not a misspelling
    awaiting "did you mean", not Cardiff), by the name the user will recognise."""
    if place_text:
        resolved = geo.resolve_place(place_text[:MAX_TEXT]).place
    else:
        text = typed_text(tracker) or ""
        resolved = geo.find_place_in_text(text[:MAX_TEXT]).place if text else None
    if resolved is None or resolved.kind == "coordinates" or resolved.country != "England" \
            or resolved.name == text_slot(tracker, "place"):
        return []
    return [SlotSet("place", resolved.name)]
