"""The place a conversation is about: the last town, postcode or county the user named, so that
"when's the closing date?" after "hubs near BD21" answers for BD21. Kept in the `place` slot
(the conversation's tracker, which /forget deletes with the rest) by `remember_place` in
actions/support.py, which `respond` calls after any answer naming a place."""

from __future__ import annotations

from rasa_sdk import Tracker

from actions.support import MAX_PLACE_TEXT, coordinates, named_place, text_slot, typed_text
from npq import geo


def place_for_answer(tracker: Tracker) -> str | None:
    """The place to answer for: the one this message names, else, when the message gives no
    place at all (no entity, no shared location, no place name in its words), the one the
    conversation is about."""
    named = named_place(tracker)
    if named or coordinates(tracker):
        return named
    text = typed_text(tracker) or ""
    found = geo.find_place_in_text(text[:MAX_PLACE_TEXT]) if text else None
    if found is not None and (found.place or found.suggestions or found.outside_uk):
        return None  # the answer reads the place from the words itself
    return text_slot(tracker, "place")
