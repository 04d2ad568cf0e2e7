"""action_programme_info: what an NPQ involves, or the list of NPQs."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions.support import in_session, latest_entity, respond
from npq.answers import Answer
from npq.programmes import catalogue_answer, find_programme, programme_answer


def _answer(session: Session, named: str | None) -> tuple[Answer, str | None]:
    programme = find_programme(session, named)
    if programme is None:
        return catalogue_answer(session), None
    return programme_answer(programme), programme.code


async def reply_about_programme(dispatcher: CollectingDispatcher, tracker: Tracker,
                                named: str | None) -> list[EventType]:
    answer, code = await in_session(_answer, named=named)
    return respond(dispatcher, tracker, answer, *([SlotSet("npq", code)] if code else []))


class ActionProgrammeInfo(Action):
    def name(self) -> str:
        return "action_programme_info"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        """Describe the NPQ the user named (this message only), or list them all."""
        return await reply_about_programme(dispatcher, tracker, latest_entity(tracker, "npq"))
