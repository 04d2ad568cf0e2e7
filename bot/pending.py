"""Messages kept while Rasa or the action server is down, in the database so that a restart of
the bot loses none, and answered in order once both are back (`KeptMessages`). The functions
take a session (see bot.db.Database.run); nothing commits in them.

A replica retrying a chat's messages claims them for CLAIM_SECONDS, so two replicas never
answer the same message; a claim left by a replica that died expires on its own. A message kept
longer than PENDING_GIVE_UP_MINUTES is dropped and its sender asked to try again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.orm import Session
from telegram.error import TelegramError
from telegram.ext import ExtBot

from bot.chat_locks import ChatLocks
from bot.db import Database
from bot.rasa_client import RasaClient, RasaReply, RasaUnavailable
from bot.render import GIVE_UP, LATE_ANSWER, UNAVAILABLE, quoted, sender_id
from npq.db.models import PendingMessage

log = logging.getLogger(__name__)
CLAIM = dt.timedelta(seconds=120)
MAX_ATTEMPTS = 3  # answers that came back empty while the action server was down


@dataclass(frozen=True)
class Kept:
    id: int
    chat_id: str
    message: str
    typed: bool
    attempts: int
    created_at: dt.datetime


def _kept(row: PendingMessage) -> Kept:
    created = row.created_at if row.created_at.tzinfo else \
        row.created_at.replace(tzinfo=dt.timezone.utc)
    return Kept(row.id, row.chat_id, row.message, row.typed, row.attempts, created)


def _free(now: dt.datetime) -> ColumnElement[bool]:
    return or_(PendingMessage.claimed_until.is_(None), PendingMessage.claimed_until < now)


def keep(session: Session, chat_id: str, message: str, *, typed: bool, now: dt.datetime) -> int:
    row = PendingMessage(chat_id=chat_id, message=message, typed=typed, attempts=0,
                         created_at=now)
    session.add(row)
    session.flush()
    return row.id


def has_pending(session: Session, chat_id: str) -> bool:
    return session.scalars(select(PendingMessage.id)
                           .where(PendingMessage.chat_id == chat_id).limit(1)).first() is not None


def chats_waiting(session: Session, now: dt.datetime) -> list[str]:
    """Chats with messages no replica is working on, the longest waiting first."""
    rows = session.execute(select(PendingMessage.chat_id, PendingMessage.id)
                           .where(_free(now)).order_by(PendingMessage.id))
    return list(dict.fromkeys(chat for chat, _ in rows))


def claim_chat(session: Session, chat_id: str, now: dt.datetime) -> list[Kept]:
    """Claim every free message of one chat, oldest first; [] if another replica holds them."""
    until = now + CLAIM
    session.execute(update(PendingMessage)
                    .where(PendingMessage.chat_id == chat_id, _free(now))
                    .values(claimed_until=until).execution_options(synchronize_session=False))
    rows = session.scalars(select(PendingMessage)
                           .where(PendingMessage.chat_id == chat_id,
                                  PendingMessage.claimed_until == until)
                           .order_by(PendingMessage.id)).all()
    return [_kept(row) for row in rows]


def release(session: Session, ids: list[int], *, tried: bool = False) -> None:
    """Free messages for a later retry (`tried`: count a failed attempt)."""
    values: dict[str, object] = {"claimed_until": None}
    if tried:
        values["attempts"] = PendingMessage.attempts + 1
    session.execute(update(PendingMessage).where(PendingMessage.id.in_(ids)).values(**values)
                    .execution_options(synchronize_session=False))


def answered(session: Session, message_id: int) -> None:
    session.execute(delete(PendingMessage).where(PendingMessage.id == message_id))


def expired(session: Session, cutoff: dt.datetime, now: dt.datetime) -> list[Kept]:
    """Free messages older than `cutoff`, removed: the caller tells their senders."""
    rows = session.scalars(select(PendingMessage)
                           .where(PendingMessage.created_at < cutoff, _free(now))
                           .order_by(PendingMessage.id)).all()
    kept = [_kept(row) for row in rows]
    for row in rows:
        session.delete(row)
    return kept


def forget_chat(session: Session, chat_id: str) -> int:
    """The person asked to be forgotten: drop whatever of theirs is still waiting."""
    result = session.execute(delete(PendingMessage).where(PendingMessage.chat_id == chat_id))
    return int(result.rowcount)  # type: ignore[attr-defined]


# --- answering them -----------------------------------------------------------------------------

class Answerer(Protocol):
    """What answers a kept message (bot.conversation.Conversation)."""

    async def ask(self, chat_id: int, message: str, *, typed: bool,
                  patient: bool) -> list[RasaReply]: ...

    async def reply(self, chat_id: int, message: str, replies: list[RasaReply], *,
                    typed: bool) -> None: ...


async def actions_down(rasa: RasaClient) -> bool:
    """An empty answer means an action failed; worth keeping only if the action server is
    known and down (a failing action on a healthy server would fail again)."""
    return rasa.knows_action_server and not await rasa.healthy()


class KeptMessages:
    def __init__(self, bot: ExtBot[Any], db: Database, rasa: RasaClient, locks: ChatLocks,
                 clock: Callable[[], dt.datetime], *, give_up_after: dt.timedelta) -> None:
        self.bot, self.db, self.rasa, self.locks, self.clock = bot, db, rasa, locks, clock
        self.give_up_after = give_up_after

    async def waiting(self, chat_id: int) -> bool:
        """Whether the chat has messages kept (a new one is answered after them)."""
        return await self.db.run(has_pending, sender_id(chat_id))

    async def keep(self, chat_id: int, message: str, *, typed: bool) -> int:
        return await self.db.run(keep, sender_id(chat_id), message, typed=typed,
                                 now=self.clock())

    async def forget(self, chat_id: int) -> None:
        """The person asked to be forgotten: drop whatever of theirs is still waiting."""
        await self.db.run(forget_chat, sender_id(chat_id))

    async def retry(self, answerer: Answerer) -> None:
        """The retry job: give up on messages kept too long, then answer the rest if Rasa (and
        the action server) are back."""
        now = self.clock()
        for kept in await self.db.run(expired, now - self.give_up_after, now):
            with contextlib.suppress(TelegramError):
                await self.bot.send_message(int(kept.chat_id), GIVE_UP.format(what=_what(kept)))
        chats = await self.db.run(chats_waiting, now)
        if not chats or not await self.rasa.healthy():
            return
        for chat in chats:
            if chat.lstrip("-").isdigit():
                async with self.locks.hold(int(chat)):
                    if not await self.answer_in_order(int(chat), answerer):
                        return  # down again: try later

    async def answer_in_order(self, chat_id: int, answerer: Answerer, *,
                              fresh: int | None = None) -> bool:
        """Answer a chat's kept messages in order; False if Rasa failed again. `fresh` is the
        message just received (no "thanks for waiting" before its answer)."""
        kept = await self.db.run(claim_chat, sender_id(chat_id), self.clock())
        for index, message in enumerate(kept):
            rest = [k.id for k in kept[index:]]
            try:
                replies = await answerer.ask(chat_id, message.message, typed=message.typed,
                                             patient=False)
            except RasaUnavailable as failure:
                log.warning("Rasa still unavailable: %s", failure)
                await self.db.run(release, rest)
                if fresh in rest:  # the message just received is kept too
                    await self.bot.send_message(chat_id, UNAVAILABLE)
                return False
            if not replies and await actions_down(self.rasa):
                if message.attempts + 1 >= MAX_ATTEMPTS:  # it was tried enough: let it go
                    await self.db.run(answered, message.id)
                    await self.bot.send_message(chat_id, GIVE_UP.format(what=_what(message)))
                    continue
                await self.db.run(release, [message.id], tried=True)
                await self.db.run(release, rest[1:])
                if fresh in rest:  # the message just received is kept too
                    await self.bot.send_message(chat_id, UNAVAILABLE)
                return False
            if message.id != fresh:
                await self.bot.send_message(chat_id, LATE_ANSWER.format(what=_what(message)))
            await answerer.reply(chat_id, message.message, replies, typed=message.typed)
            await self.db.run(answered, message.id)
        return True


def _what(kept: Kept) -> str:
    return quoted(kept.message) if kept.typed else "that"
