"""Finishing "forget me" where the action server cannot: messages still kept for the person,
the conversation Rasa keeps (its SQL tracker store's rows), and the person's messages staff
labelled into the training data (nlu_data/nlu/reviewed.yml).

The forget_me action deletes our rows and records a PendingErasure (with the texts of the
person's labelled messages) in the same transaction, then says what it deleted. Once the turn
is over the front end calls `finish`: it erases the rest and tells the person only what is true,
that it is done, or what could not be deleted yet. What failed is retried (`retry`, from a job)
until it succeeds, and then the person is told. Only then does the PendingErasure go.

Labelled messages are removed from reviewed.yml at once (rather than marked for the next
retrain to drop): the file is what staff commit and what every retrain reads, so once the
person is told, their words are in neither. A model already trained on them is replaced by the
next retrain.

What still waits in the outbox for them is deleted when the forget_me reply is queued, in the
same transaction (bot/conversation.py), not here: what is sent to them after it must go out.
Their messages waiting for the staff group go with their handoff requests (a foreign key).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.db import Database
from bot.pending import forget_chat
from bot.rasa_client import RasaClient, RasaUnavailable
from bot.tracker import TrackerStore
from npq.db.models import PendingErasure
from ops.retrain import RetrainBusy, exclusive
from ops.training_data import remove_examples

log = logging.getLogger(__name__)
CONVERSATION, TRAINING_DATA, KEPT = ("our conversation", "your messages in our training data",
                                     "the messages you sent while I was unavailable")
RETRY_AFTER = dt.timedelta(minutes=2)  # an erasure its first attempt left unfinished (or lost)
Send = Callable[[int, str], Awaitable[object]]


@dataclass(frozen=True)
class Outcome:
    failed: tuple[str, ...]  # what is not deleted yet (CONVERSATION, TRAINING_DATA, KEPT)
    examples: int = 0  # training examples removed

    def message(self, *, later: bool = False) -> str:
        """What the person is told: only what is true."""
        if self.failed:
            return (f"I couldn't delete {_join(self.failed)} just yet. I'll keep trying and tell "
                    "you here when it's done.")
        extra = (f", and {self.examples} of your messages from our training data"
                 if self.examples else "")
        if later:
            return f"Done: {CONVERSATION} is deleted now too{extra}."
        return f"Done: {CONVERSATION} is deleted too{extra}."


def _join(parts: tuple[str, ...]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


def _texts(session: Session, sender: str) -> tuple[list[int], list[str]]:
    rows = session.scalars(select(PendingErasure).where(PendingErasure.chat_id == sender)).all()
    return [r.id for r in rows], sorted({str(t) for r in rows for t in r.examples or ()})


def _done(session: Session, ids: list[int]) -> int:
    result = session.execute(delete(PendingErasure).where(PendingErasure.id.in_(ids)))
    return int(result.rowcount)  # type: ignore[attr-defined]


def _failed(session: Session, ids: list[int]) -> None:
    session.execute(update(PendingErasure).where(PendingErasure.id.in_(ids))
                    .values(attempts=PendingErasure.attempts + 1))


def _due(session: Session, before: dt.datetime) -> list[str]:
    """Senders whose erasure a first attempt left unfinished, or that nobody finished."""
    return list(dict.fromkeys(session.scalars(
        select(PendingErasure.chat_id)
        .where(or_(PendingErasure.attempts > 0, PendingErasure.created_at < before))
        .order_by(PendingErasure.id))))


class Eraser:
    def __init__(self, db: Database, rasa: RasaClient, tracker: TrackerStore,
                 training_root: Path, clock: Callable[[], dt.datetime]) -> None:
        self.db, self.rasa, self.tracker, self.clock = db, rasa, tracker, clock
        self.training_root = training_root

    def _remove_examples(self, texts: list[str]) -> int:
        with exclusive(self.training_root / "models", "forget me"):
            return remove_examples(self.training_root, texts)

    async def erase(self, sender: str) -> tuple[Outcome, int]:
        """Erase what is left of `sender`; the outcome and how many PendingErasure rows this
        call finished (0: another replica finished them, or there were none)."""
        failed: list[str] = []
        try:
            ids, texts = await self.db.run(_texts, sender)
            await self.db.run(forget_chat, sender)
        except SQLAlchemyError as error:
            log.error("forget me: could not read or clear what is kept: %s", type(error).__name__)
            return Outcome((KEPT, CONVERSATION, TRAINING_DATA)), 0
        try:  # Rasa's own view of the conversation; its stored rows go just below
            await self.rasa.erase_conversation(sender)
        except RasaUnavailable as failure:
            log.warning("forget me: Rasa did not reset the conversation: %s", failure)
        if await self.tracker.erase(sender) is None:
            failed.append(CONVERSATION)
        examples = 0
        if texts:
            try:
                examples = await asyncio.to_thread(self._remove_examples, texts)
            except (RetrainBusy, OSError, ValueError) as error:
                log.warning("forget me: training data not changed yet: %s", type(error).__name__)
                failed.append(TRAINING_DATA)
        outcome = Outcome(tuple(failed), examples)
        try:
            if failed:
                await self.db.run(_failed, ids)
                return outcome, 0
            return outcome, await self.db.run(_done, ids)
        except SQLAlchemyError as error:
            log.error("forget me: could not record the outcome: %s", type(error).__name__)
            return outcome, 0

    async def finish(self, chat_id: int, send: Send) -> Outcome:
        """After the forget_me turn: erase the rest and tell the person how it went."""
        outcome, _ = await self.erase(str(chat_id))
        await send(chat_id, outcome.message())
        return outcome

    async def retry(self, send: Send) -> int:
        """The job: finish erasures left unfinished; tell each person once theirs is done.
        Returns how many were finished."""
        finished = 0
        for sender in await self.db.run(_due, self.clock() - RETRY_AFTER):
            outcome, rows = await self.erase(sender)
            if outcome.failed or not rows:
                continue
            finished += 1
            if sender.lstrip("-").isdigit():  # a Telegram chat (a terminal chat has gone)
                try:
                    await send(int(sender), outcome.message(later=True))
                except Exception as error:  # noqa: BLE001 - the erasure itself is done
                    log.warning("forget me: could not tell chat it is done: %s",
                                type(error).__name__)
        return finished
