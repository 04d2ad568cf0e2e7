"""action_how_to_apply: the two steps, what to have ready, and the links."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import clock
from actions.support import (
    earlier_intents,
    in_session,
    latest_entity,
    programme_mentioned,
    respond,
    typed_text,
)
from npq.answers import Answer, Button
from npq.applying import how_to_apply_answer
from npq.intents import PARTNERSHIP
from npq.partners import become_partner_answer

AS_CANDIDATE = "candidate"


class ActionHowToApply(Action):
    def name(self) -> str:
        return "action_how_to_apply"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        """How to apply, for the programme the conversation is about if there is one; which
        provider to choose when that is the question. Straight after questions about
        partnership, with no programme named, how to become a partner."""
        as_candidate = latest_entity(tracker, "answer") == AS_CANDIDATE
        if latest_entity(tracker, "npq") is None and not as_candidate and \
                PARTNERSHIP & set(earlier_intents(tracker, 2)):
            steps = await in_session(become_partner_answer)
            return respond(dispatcher, tracker, Answer(
                "To become a delivery partner, you don't fill in a form: it starts with a "
                "conversation with our partnerships team.\n\n" + steps.text, (
                    *steps.buttons,
                    Button("Applying for an NPQ yourself?", "how_to_apply",
                           {"answer": AS_CANDIDATE}))))
        answer = await in_session(how_to_apply_answer, today=clock.today(),
                                  programme_code=programme_mentioned(tracker),
                                  question=typed_text(tracker))
        return respond(dispatcher, tracker, answer)
