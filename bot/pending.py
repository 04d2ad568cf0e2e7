"""Messages kept while Rasa or the action server is down, in the database so that a restart of
the bot loses none, and answered in order once both are back (`KeptMessages`). The functions
take a session (see bot.db.Database.run); nothing commits in them.

A replica retrying a chat's messages claims them with a token of its own, renewed while it
works (bot/claims.py), so two replicas never answer the same message, however slow Rasa is; a
claim left by a replica that died expires on its own. Each message carries a key sent to Rasa as
its metadata: before asking again, the retry looks for that key in the conversation Rasa keeps,
and a turn Rasa finished after the bot stopped waiting is answered from there, not run a second
time. A message kept longer than PENDING_GIVE_UP_MINUTES is dropped and its sender asked to try
again.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.orm import Session
from telegram.error import TelegramError

from bot.chat_locks import ChatLocks
from bot.claims import CLAIM, Heartbeat, new_token
from bot.db import Database
from bot.outbox import Outbox
from bot.rasa_client import RasaClient, RasaReply, RasaUnavailable
from bot.render import GIVE_UP, LATE_ANSWER, UNAVAILABLE, quoted, sender_id
from npq.db.models import PendingMessage

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3  # answers that came back empty while the action server was down


@dataclass(frozen=True)
class Kept:
    id: int
    chat_id: str
    message: str
    typed: bool
    attempts: int
    created_at: dt.datetime
    key: str | None = None  # sent to Rasa with the message (RasaClient.finished_turn)


def _kept(row: PendingMessage) -> Kept:
    created = row.created_at if row.created_at.tzinfo else \
        row.created_at.replace(tzinfo=dt.timezone.utc)
    return Kept(row.id, row.chat_id, row.message, row.typed, row.attempts, created,
                row.message_key)


def _free(now: dt.datetime) -> ColumnElement[bool]:
    return or_(PendingMessage.claimed_until.is_(None), PendingMessage.claimed_until < now)


def keep(session: Session, chat_id: str, message: str, *, typed: bool, now: dt.datetime,
         key: str | None = None) -> int:
    row = PendingMessage(chat_id=chat_id, message=message, typed=typed, attempts=0,
                         created_at=now, message_key=key)
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


def claim_chat(session: Session, chat_id: str, now: dt.datetime,
               token: str | None = None) -> list[Kept]:
    """Claim every free message of one chat for `token`, oldest first; [] if another replica
    holds them."""
    token = token or new_token()
    session.execute(update(PendingMessage)
                    .where(PendingMessage.chat_id == chat_id, _free(now))
                    .values(claimed_until=now + CLAIM, claimed_by=token)
                    .execution_options(synchronize_session=False))
    rows = session.scalars(select(PendingMessage)
                           .where(PendingMessage.chat_id == chat_id,
                                  PendingMessage.claimed_by == token)
                           .order_by(PendingMessage.id)).all()
    return [_kept(row) for row in rows]


def renew(session: Session, token: str, now: dt.datetime) -> int:
    """Extend this token's claim; how many messages it still holds."""
    result = session.execute(update(PendingMessage).where(PendingMessage.claimed_by == token)
                             .values(claimed_until=now + CLAIM)
                             .execution_options(synchronize_session=False))
    return int(result.rowcount)  # type: ignore[attr-defined]


def release(session: Session, ids: list[int], *, tried: bool = False) -> None:
    """Free messages for a later retry (`tried`: count a failed attempt)."""
    values: dict[str, object] = {"claimed_until": None, "claimed_by": None}
    if tried:
        values["attempts"] = PendingMessage.attempts + 1
    session.execute(update(PendingMessage).where(PendingMessage.id.in_(ids)).values(**values)
                    .execution_options(synchronize_session=False))


def answered(session: Session, message_id: int) -> None:
    session.execute(delete(PendingMessage).where(PendingMessage.id == message_id))


class ClaimLost(Exception):
    """Another replica holds the message now: this one must not answer it."""


def answered_by(session: Session, *, message_id: int, token: str) -> None:
    """Settle a message this token claimed (raises ClaimLost, rolling back the transaction
    that would have sent its answer, if the claim was lost)."""
    result = session.execute(delete(PendingMessage).where(PendingMessage.id == message_id,
                                                          PendingMessage.claimed_by == token))
    if not result.rowcount:  # type: ignore[attr-defined]
        raise ClaimLost(message_id)


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

    async def ask(self, chat_id: int, message: str, *, typed: bool, patient: bool,
                  key: str | None = None) -> list[RasaReply]: ...

    async def reply(self, chat_id: int, message: str, replies: list[RasaReply], *,
                    typed: bool, preface: str | None = None,
                    settle: Callable[[Session], None] | None = None) -> None: ...


async def actions_down(rasa: RasaClient) -> bool:
    """An empty answer means an action failed; worth keeping only if the action server is
    known and down (a failing action on a healthy server would fail again)."""
    return rasa.knows_action_server and not await rasa.healthy()


class KeptMessages:
    def __init__(self, outbox: Outbox, db: Database, rasa: RasaClient, locks: ChatLocks,
                 clock: Callable[[], dt.datetime], *, give_up_after: dt.timedelta,
                 renew_every: float | None = None) -> None:
        self.outbox, self.db, self.rasa, self.locks, self.clock = outbox, db, rasa, locks, clock
        self.give_up_after = give_up_after
        self.renew_every = renew_every  # None: bot.claims.RENEW_EVERY
        self.renewed = asyncio.Event()  # set after each renewal of a claim (tests wait for it)

    async def waiting(self, chat_id: int) -> bool:
        """Whether the chat has messages kept (a new one is answered after them)."""
        return await self.db.run(has_pending, sender_id(chat_id))

    async def keep(self, chat_id: int, message: str, *, typed: bool,
                   key: str | None = None) -> int:
        return await self.db.run(keep, sender_id(chat_id), message, typed=typed,
                                 now=self.clock(), key=key)

    async def forget(self, chat_id: int) -> None:
        """The person asked to be forgotten: drop whatever of theirs is still waiting."""
        await self.db.run(forget_chat, sender_id(chat_id))

    async def retry(self, answerer: Answerer) -> None:
        """The retry job: give up on messages kept too long, then answer the rest if Rasa (and
        the action server) are back."""
        now = self.clock()
        for kept in await self.db.run(expired, now - self.give_up_after, now):
            with contextlib.suppress(TelegramError):
                await self.outbox.say(int(kept.chat_id), GIVE_UP.format(what=_what(kept)))
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
        token = new_token()
        kept = await self.db.run(claim_chat, sender_id(chat_id), self.clock(), token)
        async with Heartbeat(self.db, renew, token, self.clock, every=self.renew_every,
                             renewed=self.renewed) as heartbeat:
            for index, message in enumerate(kept):
                rest = [k.id for k in kept[index:]]
                if not heartbeat.holding:
                    return True  # another replica took over: it answers the rest
                try:
                    replies = await self._replies(chat_id, message, answerer,
                                                  fresh=message.id == fresh)
                except RasaUnavailable as failure:
                    log.warning("Rasa still unavailable: %s", failure)
                    await self.db.run(release, rest)
                    if fresh in rest:  # the message just received is kept too
                        await self.outbox.say(chat_id, UNAVAILABLE)
                    return False
                if not replies and await actions_down(self.rasa):
                    if message.attempts + 1 >= MAX_ATTEMPTS:  # it was tried enough: let it go
                        await self.db.run(answered, message.id)
                        await self.outbox.say(chat_id, GIVE_UP.format(what=_what(message)))
                        continue
                    await self.db.run(release, [message.id], tried=True)
                    await self.db.run(release, rest[1:])
                    if fresh in rest:  # the message just received is kept too
                        await self.outbox.say(chat_id, UNAVAILABLE)
                    return False
                # The answer enters the outbox in the same transaction that settles the
                # message: answered once, and delivered even if the bot stops now.
                preface = None if message.id == fresh else \
                    LATE_ANSWER.format(what=_what(message))
                try:
                    await answerer.reply(chat_id, message.message, replies, typed=message.typed,
                                         preface=preface, settle=functools.partial(
                                             answered_by, message_id=message.id, token=token))
                except ClaimLost:
                    log.warning("a kept message was taken over by another replica")
                    return True
        return True

    async def _replies(self, chat_id: int, message: Kept, answerer: Answerer, *,
                       fresh: bool) -> list[RasaReply]:
        """Rasa's answer to a kept message: from the turn Rasa already ran for it (it finished
        after the bot stopped waiting), or asked now."""
        if message.key and not fresh:
            done = await self.rasa.finished_turn(sender_id(chat_id), message.key)
            if done:
                log.info("a kept message's turn had finished in Rasa: answered from it")
                return done
        return await answerer.ask(chat_id, message.message, typed=message.typed,
                                  patient=False, key=message.key)


def _what(kept: Kept) -> str:
    return quoted(kept.message) if kept.typed else "that"
