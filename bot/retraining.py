"""Retraining and rolling back for staff on Telegram (/retrain and /rollback in bot/staff.py),
with progress in the chat (ops/retrain.py does the work).

Both are long and blocking (training takes minutes), so they run in a worker thread
(asyncio.to_thread) from a task of the Application: the event loop keeps answering everyone
meanwhile, the staff member's chat included. `progress` lines come from that thread; they are
handed to the loop and sent in order, the training components as one message that is edited as
training moves on. One retrain or rollback at a time: here (a second one is told who is busy at
once) and across processes (ops.retrain.exclusive's lock, e.g. against `make retrain`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session
from telegram import Message
from telegram.error import TelegramError
from telegram.ext import ExtBot

from bot.db import Database
from bot.outbox import Outbox
from npq.model_history import model_actions
from ops import retrain as ops_retrain
from ops.evaluation import HELDOUT
from ops.gate import Scores
from ops.paths import ROOT
from ops.retrain import Outcome, RetrainBusy, RetrainError
from ops.training_data import validate_data

log = logging.getLogger(__name__)
TRAINING = "training: "


@dataclass(frozen=True)
class Training:
    """Where staff tooling reads and writes training data and models (the repository; tests
    use a copy), and the tools themselves (tests may substitute them)."""

    root: Path = ROOT
    heldout: Path = HELDOUT
    validate: Callable[[Path], list[str]] | None = validate_data
    retrain: Callable[..., Outcome] = ops_retrain.retrain
    rollback: Callable[..., Outcome] = ops_retrain.rollback


class Progress:
    """Lines from the worker thread, sent to the chat in order."""

    def __init__(self, bot: ExtBot[Any], chat_id: int) -> None:
        self.bot, self.chat_id = bot, chat_id
        self._loop = asyncio.get_running_loop()
        self._lines: asyncio.Queue[str | None] = asyncio.Queue()
        self._sender = asyncio.ensure_future(self._send_all())

    def __call__(self, line: str) -> None:
        """Called from the worker thread."""
        self._loop.call_soon_threadsafe(self._lines.put_nowait, line)

    async def _send_all(self) -> None:
        components: list[str] = []
        training: Message | None = None
        while (line := await self._lines.get()) is not None:
            try:
                if not line.startswith(TRAINING):
                    await self.bot.send_message(self.chat_id, line)
                    continue
                components.append(line.removeprefix(TRAINING))
                text = "Training: " + " → ".join(components)
                if training is None:
                    training = await self.bot.send_message(self.chat_id, text)
                else:
                    await training.edit_text(text)
            except TelegramError as error:  # progress is a courtesy: the work goes on
                log.warning("progress not shown: %s", type(error).__name__)

    async def close(self) -> None:
        """Send what is still queued (everything the thread said before it returned)."""
        self._lines.put_nowait(None)
        await self._sender


class ModelKeeper:
    def __init__(self, bot: ExtBot[Any], db: Database, training: Training, outbox: Outbox, *,
                 rasa_url: str, tolerance: float, clock: Callable[[], dt.datetime]) -> None:
        self.bot, self.db, self.training, self.clock = bot, db, training, clock
        self.outbox = outbox  # the outcome, minutes of work, is delivered however Telegram is
        self.rasa_url, self.tolerance = rasa_url, tolerance
        self.running: str | None = None  # what runs in this process, and for whom

    async def run(self, chat_id: int, what: str, *, staff: str, name: str) -> None:
        """Retrain ("retrain") or roll back ("rollback") for a staff member, in this chat."""
        if self.running:
            await self.bot.send_message(chat_id, f"Busy: {self.running} is still running. "
                                                 "Try again when it has finished.")
            return
        self.running = f"a {what} started by {name}"
        progress = Progress(self.bot, chat_id)
        try:
            try:
                outcome = await asyncio.to_thread(self._work, what, staff, progress)
            except RetrainBusy as busy:
                text = f"Busy: {busy}"
            except RetrainError as error:
                text = f"The {what} did not go ahead: {error}"
            else:
                text = await self.db.run(_summary, outcome, name)
        finally:  # also on an unexpected error (the error handler apologises)
            await progress.close()
            self.running = None  # before the summary: once it is read, a new one may start
        await self.outbox.say(chat_id, text)

    def _work(self, what: str, staff: str, progress: Progress) -> Outcome:
        common: dict[str, Any] = dict(rasa_url=self.rasa_url, staff_id=staff, progress=progress,
                                      root=self.training.root, clock=self.clock)
        if what == "rollback":
            return self.training.rollback(self.db.factory, **common)
        return self.training.retrain(self.db.factory, heldout=self.training.heldout,
                                     tolerance=self.tolerance, **common)


def _scores(before: Scores | dict[str, float] | None,
            after: Scores | dict[str, float] | None) -> list[str]:
    """Held-out scores side by side, one line each."""
    def value(scores: Scores | dict[str, float] | None, key: str) -> str:
        found = getattr(scores, key, None) if isinstance(scores, Scores) else \
            (scores or {}).get(key)
        return "?" if found is None else f"{found:.3f}"
    return [f"• {label}: {value(before, key)} → {value(after, key)}"
            for key, label in Scores.LABELS.items()]


def _summary(session: Session, outcome: Outcome, name: str) -> str:
    """What the staff member is told at the end (with who did it and the scores)."""
    if outcome.action == "unchanged":
        return (f"Nothing new to learn: {outcome.serving}, in service, was trained on this "
                "data. Label more messages with /review first.")
    if outcome.action == "rollback":
        rows = model_actions(session, limit=1)
        row = rows[0] if rows else None
        before = row.scores_before if row else None
        after = row.scores_after if row else None
        was = outcome.reasons[0].removeprefix("rolled back from ") if outcome.reasons else "?"
        return "\n".join([f"↩️ Rolled back by {name}: {outcome.serving} is in service again "
                          f"(was {was}).", "Held-out scores (was → now):",
                          *_scores(before, after)])
    lines = ["Held-out scores (in service → candidate):", *_scores(outcome.before, outcome.after)]
    if outcome.action == "promote":
        return "\n".join([f"✅ Promoted by {name}: {outcome.candidate} is in service.", *lines])
    return "\n".join([f"❌ Not promoted ({name}'s retrain): the candidate {outcome.candidate} "
                      f"scored worse on the held-out messages.", *lines,
                      *(f"• {reason}" for reason in outcome.reasons),
                      f"{outcome.serving} stays in service."])
