"""action_find_hub: the nearest hubs to a place, postcode or shared location."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import clock
from actions.deadlines import reply_with_deadlines
from actions.places import place_for_answer
from actions.support import (
    CORRECTION,
    ask_next,
    coordinates,
    greets_by_name,
    in_session,
    latest_entity,
    previous_action,
    programme_mentioned,
    remember_place,
    respond,
    typed_text,
)
from npq.hubs import find_hub_answer


async def reply_with_hubs(dispatcher: CollectingDispatcher, tracker: Tracker, *,
                          place_text: str | None = None) -> list[EventType]:
    """The nearest hubs (offering the programme in question, if any), or where to look."""
    programme = programme_mentioned(tracker)
    place = place_text or place_for_answer(tracker)
    answer = await in_session(
        find_hub_answer,
        today=clock.today(),
        place_text=place,
        message_text=tracker.latest_message.get("text"),
        coordinates=coordinates(tracker),
        programme_text=programme,
    )
    # asked where ("Where should I look?"): a bare reply is the place (actions/follow_up.py)
    asked = ask_next("place", intent="find_hub", npq=programme) if answer.asks_location else None
    return respond(dispatcher, tracker, answer, *([SlotSet("npq", programme)] if programme else []),
                   *remember_place(tracker, place), asked=asked)


class ActionFindHub(Action):
    def name(self) -> str:
        return "action_find_hub"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        """Reply with the nearest hubs, or ask where to look; "hello, my name is Chester" read
        as a hub search is a greeting."""
        if greets_by_name(dispatcher, tracker):
            return []
        named_place = latest_entity(tracker, "location") or latest_entity(tracker, "postcode")
        if previous_action(tracker) == "action_deadlines" and latest_entity(tracker, "npq") \
                and not named_place and CORRECTION.search((typed_text(tracker) or "")[:300]):
            # "and npqlt?" just after deadlines, read as a hub search: that programme's deadlines
            return await reply_with_deadlines(dispatcher, tracker)
        return await reply_with_hubs(dispatcher, tracker)
