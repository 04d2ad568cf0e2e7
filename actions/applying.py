"""action_how_to_apply: the two steps, what to have ready, and the links."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import clock
from actions.support import in_session, programme_mentioned, respond, typed_text
from npq.applying import how_to_apply_answer


class ActionHowToApply(Action):
    def name(self) -> str:
        return "action_how_to_apply"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        """How to apply, for the programme the conversation is about if there is one; which
        provider to choose when that is the question."""
        answer = await in_session(how_to_apply_answer, today=clock.today(),
                                  programme_code=programme_mentioned(tracker),
                                  question=typed_text(tracker))
        return respond(dispatcher, tracker, answer)
