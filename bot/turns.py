"""Every typed message is logged with what the model made of it, for review and the statistics
(npq.message_log.record_turn); and the rule for which answers ask "was this helpful?".

After Rasa answers, the bot reads the parse back from Rasa's tracker store (bot/tracker.py: the
latest `user` event holds the text, intent, intent_ranking and entities; no second request to
the Rasa server) and records it with the reply. Only typed text is logged: button
payloads, commands and shared locations bypass the model (Rasa reads them as forced intents), so
there is nothing to review in them. Logging is best effort: a tracker or database that does not
answer costs the log line, never the user's answer.

The feedback rule: thumbs go under the last reply of a turn when the message was typed, the model
read it as a question (not small talk, a yes/no, a form answer, a fallback or a request for a
person or to be forgotten) and the assistant answered it outright: no form is asking its
questions, nothing is pending (`pending` slot) and no location was asked for.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.db import Database
from bot.rasa_client import RasaReply, wants_erasure, wants_location
from bot.tracker import TrackerStore, TrackerUnavailable
from npq.intents import NO_FEEDBACK
from npq.message_log import record_turn
from ops.evaluation import fallback_threshold

log = logging.getLogger(__name__)


def read_threshold(config: Path) -> float:
    """The FallbackClassifier threshold of config.yml (read once, at start-up)."""
    return fallback_threshold(config.read_text())


def offers_feedback(parse: Mapping[str, Any], state: Mapping[str, Any],
                    replies: list[RasaReply]) -> bool:
    """Whether this turn answered a question (see the module's docstring)."""
    intent = (parse.get("intent") or {}).get("name")
    if not intent or intent in NO_FEEDBACK:
        return False
    if (state.get("active_loop") or {}).get("name"):
        return False  # a form is asking its next question
    if (state.get("slots") or {}).get("pending"):
        return False  # the assistant waits for an answer ("Where are you?")
    if wants_location(replies) or wants_erasure(replies):
        return False
    return any(reply.text for reply in replies)


def same_text(a: str | None, b: str) -> bool:
    return " ".join((a or "").split()) == " ".join(b.split())


@dataclass(frozen=True)
class Recorded:
    message_id: int  # message_log's row, which the thumbs buttons carry
    offer_feedback: bool
    state: dict[str, Any]  # the tracker's state it was read from (TrackerStore.turn_state)

    @property
    def rate(self) -> int | None:
        """The row the thumbs under the answer rate, if the answer offers them."""
        return self.message_id if self.offer_feedback else None


class TurnRecorder:
    def __init__(self, tracker: TrackerStore, db: Database, clock: Callable[[], dt.datetime], *,
                 threshold: float) -> None:
        self.tracker, self.db, self.clock, self.threshold = tracker, db, clock, threshold

    async def record(self, sender: str, text: str, replies: list[RasaReply]) -> Recorded | None:
        """Log a typed message, its parse and the reply; None when it could not be logged (or
        must not be: the person just asked to be forgotten)."""
        if wants_erasure(replies):
            return None
        try:
            state = await self.tracker.turn_state(sender)
        except TrackerUnavailable as failure:
            log.warning("turn not logged: Rasa's tracker store did not answer (%s)", failure)
            return None
        parse = state.get("latest_message")
        if not isinstance(parse, dict) or not same_text(parse.get("text"), text):
            log.warning("turn not logged: Rasa's latest message is not the one just answered")
            return None
        reply = "\n".join(r.text for r in replies if r.text) or None
        try:
            message_id = await self.db.run(_record, sender, text, parse, reply, self.clock(),
                                           self.threshold)
        except SQLAlchemyError as error:
            log.error("turn not logged: %s", type(error).__name__)
            return None
        return Recorded(message_id, offers_feedback(parse, state, replies), state)


def _record(session: Session, sender: str, text: str, parse: dict[str, Any], reply: str | None,
            now: dt.datetime, threshold: float) -> int:
    return record_turn(session, chat_id=sender, text=text, parse=parse, reply=reply, now=now,
                       threshold=threshold).id
