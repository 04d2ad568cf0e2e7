"""action_find_hub: the nearest hubs to a place, postcode or shared location."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.support import in_session, latest_entity, today, utter
from npq.hubs import find_hub_answer


class ActionFindHub(Action):
    def name(self) -> str:
        return "action_find_hub"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        """Reply with the nearest hubs, or ask where to look."""
        latitude, longitude = latest_entity(tracker, "latitude"), latest_entity(tracker, "longitude")
        coordinates = _coordinates(latitude, longitude)
        programme = latest_entity(tracker, "npq") or tracker.get_slot("npq")
        answer = await in_session(
            find_hub_answer,
            today=today(),
            place_text=latest_entity(tracker, "postcode") or latest_entity(tracker, "location"),
            message_text=tracker.latest_message.get("text"),
            coordinates=coordinates,
            programme_text=programme,
        )
        utter(dispatcher, answer)
        return [SlotSet("npq", programme)] if programme else []


def _coordinates(latitude: str | None, longitude: str | None) -> tuple[float, float] | None:
    try:
        lat, lon = float(latitude or ""), float(longitude or "")
    except ValueError:
        return None
    return (lat, lon) if -90 <= lat <= 90 and -180 <= lon <= 180 else None
