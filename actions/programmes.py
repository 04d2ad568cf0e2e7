"""action_programme_info: what an NPQ involves, the list of NPQs, or the specific thing asked
about one (its assessment, what it is worth, when sessions run, who provides it)."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import clock
from actions.corrections import correct
from actions.places import place_for_answer
from actions.support import (
    in_session,
    latest_entity,
    respond,
    text_slot,
    typed_text,
    with_asides,
)
from npq.answers import Answer, Button
from npq.course import programme_info_answer
from npq.partners import area_from_slot, area_line, asks_about_gap
from npq.programmes import refers_back
from npq.topics import topic_of

# "what's the difference between that and the leading teaching one?": one programme named, and
# the one discussed is the other side of the comparison.
COMPARES = re.compile(r"\b(difference|differ|different|compare|compared|comparison|versus|vs|"
                      r"better|similar)\b", re.IGNORECASE)


async def reply_about_programme(dispatcher: CollectingDispatcher, tracker: Tracker,
                                named: str | None) -> list[EventType]:
    others = list(dict.fromkeys(v for v in tracker.get_latest_entity_values("npq")
                                if isinstance(v, str) and v != named))
    discussed = text_slot(tracker, "npq")
    question = typed_text(tracker) or ""
    if named and not others and discussed and discussed != named \
            and COMPARES.search(question[:500]) and refers_back(question):
        others = [discussed]
    answer, code = await in_session(
        programme_info_answer, today=clock.today(), named=named, question=question or None,
        place_text=place_for_answer(tracker), also_named=others)
    answer = await with_asides(tracker, answer, code, today=clock.today())
    return respond(dispatcher, tracker, answer, *([SlotSet("npq", code)] if code else []))


# Questions that only have an answer for one programme: with none named, the one discussed.
ABOUT_ONE = frozenset({"places", "sessions"})


class ActionProgrammeInfo(Action):
    def name(self) -> str:
        return "action_programme_info"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        """Answer about the NPQ the user named, or the one the conversation is about when the
        question points back to it ("how long does it take?"), or about them all."""
        gap = await _gap_in_school_area(dispatcher, tracker)
        if gap is not None:  # "what programmes are missing there" after the area finding
            return gap
        named = latest_entity(tracker, "npq")
        if named is not None:  # "no, the senco one instead" just after its deadlines
            corrected = await correct(dispatcher, tracker, domain, named)
            if corrected is not None:
                return corrected
        question = typed_text(tracker)
        if named is None and (refers_back(question) or topic_of(question) in ABOUT_ONE):
            named = text_slot(tracker, "npq")
        return await reply_about_programme(dispatcher, tracker, named)


async def _gap_in_school_area(dispatcher: CollectingDispatcher,
                              tracker: Tracker) -> list[EventType] | None:
    """A school that gave its area in the partner check asking what is missing there: the area
    finding again, not the list of NPQs."""
    place = area_from_slot(tracker.get_slot("partner_area"))
    if place is None or not asks_about_gap(typed_text(tracker)):
        return None
    line = await in_session(area_line, place=place)
    return respond(dispatcher, tracker, Answer(line, (
        Button("Check our fit", "partner_fit_check"), Button("Talk to a person",
                                                             "talk_to_human"))))
