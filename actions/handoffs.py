"""Talk to a person: the request is stored with the recent conversation for staff (npq.handoffs),
and the user is told how we will be in touch. The front end forwards it to the staff group and
relays the chat (bot/handoff.py)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions import clock
from actions.support import earlier_intents, end_form, in_session, typed_text, utter
from npq.answers import Answer
from npq.handoffs import handoff_answer, record_handoff
from npq.intents import PARTNERSHIP
from npq.network import load_network, office_contact

CONTEXT_MESSAGES = 10


class ActionTalkToHuman(Action):
    def name(self) -> str:
        return "action_talk_to_human"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        """Record a handoff request with the recent conversation, and say how we'll be in touch."""
        context = recent_messages(tracker.events)
        earlier = set(earlier_intents(tracker, 3))
        school = bool(PARTNERSHIP & earlier)  # "can we talk to someone" after partnership
        again = "talk_to_human" in earlier  # "... my number is": recorded, and said so

        def store(session: Session) -> Answer:
            record_handoff(session, chat_id=tracker.sender_id, reason=typed_text(tracker),
                           context=context, now=clock.now())
            return handoff_answer(office_contact(load_network(session), hours=False),
                                  school=school, again=again)

        utter(dispatcher, await in_session(store))
        return [*end_form(tracker), *([SlotSet("pending", None)]
                                      if tracker.get_slot("pending") else [])]


def recent_messages(events: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The last few things said, by the user and the assistant, oldest first."""
    said = [{"from": "user" if e["event"] == "user" else "assistant", "text": e.get("text") or ""}
            for e in events if e.get("event") in ("user", "bot") and e.get("text")]
    return said[-CONTEXT_MESSAGES:]
