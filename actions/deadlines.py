"""action_deadlines: the next application deadlines, for a programme and/or a place."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import clock
from actions.places import place_for_answer
from actions.support import (
    ask_next,
    button_code,
    coordinates,
    in_session,
    programme_mentioned,
    remember_place,
    respond,
    typed_text,
    with_asides,
)
from npq.deadlines import deadlines_answer


async def reply_with_deadlines(dispatcher: CollectingDispatcher, tracker: Tracker, *,
                               place_text: str | None = None) -> list[EventType]:
    """Deadlines for what this message (or the conversation) names; a bare place sent next
    shows the deadlines near it."""
    programme = programme_mentioned(tracker)
    place = place_text or place_for_answer(tracker)
    answer = await in_session(
        deadlines_answer, today=clock.today(), programme_code=programme, place_text=place,
        message_text=typed_text(tracker), coordinates=coordinates(tracker))
    code = button_code(answer)
    answer = await with_asides(tracker, answer, code or programme, today=clock.today(),
                               deadline=False)
    return respond(dispatcher, tracker, answer, *([SlotSet("npq", code)] if code else []),
                   *remember_place(tracker, place),
                   asked=ask_next("place", intent="ask_deadlines", npq=code))


class ActionDeadlines(Action):
    def name(self) -> str:
        return "action_deadlines"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        """When applications close, with "in N days"."""
        return await reply_with_deadlines(dispatcher, tracker)

