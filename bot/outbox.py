"""Every reply the assistant decides to send is delivered once, whatever Telegram answers first.

A turn's messages are written to the `outbox` table, then sent in order; each is deleted once
Telegram accepted it. The rate limiter (bot/rate_limiter.py) already retries a few 429s (after
their retry_after) and 5xx answers in place; when it gives up, the message stays in the outbox
with `not_before` set (now + retry_after for a 429, a growing backoff for a 5xx or a network
error) and the outbox job sends it then, still before anything newer for that chat. After a
restart of the bot the job sends whatever was left. A 400 or 403 (our mistake, or a user who
blocked the bot) is dropped at once: retrying would never succeed.

A replica sending a chat's messages claims them (a token and a time, renewed while it works:
bot/claims.py), so two replicas never send the same message. The one gap left is Telegram's:
a send whose answer is lost after Telegram accepted it is sent again.

Handoff relays (bot/handoff.py) go the same way: a message may be HTML, reply to a message in
its chat, or copy a user's photo or file (`Item`); one to the staff group names its request and
is linked to it once sent, so a staff reply to it reaches the user, however late it went out.
`send` says how the first attempt went (`Delivery`), so the sender can tell someone a message
Telegram refused for good (a user who blocked the bot).

When the database itself is unreachable the messages are sent directly (the rate limiter's
retries only), and logged as such.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from telegram import InlineKeyboardMarkup, ReplyKeyboardMarkup, ReplyKeyboardRemove, ReplyParameters
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import ExtBot

from bot.chat_locks import ChatLocks
from bot.claims import CLAIM, Heartbeat, new_token
from bot.db import Database, utcnow
from bot.render import sender_id
from npq import handoffs
from npq.db.models import OutboxMessage

log = logging.getLogger(__name__)
Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None
MAX_BACKOFF = dt.timedelta(minutes=5)
_KINDS: dict[str, Any] = {"inline": InlineKeyboardMarkup, "keyboard": ReplyKeyboardMarkup,
                          "remove": ReplyKeyboardRemove}


def encode(markup: Markup) -> str | None:
    if markup is None:
        return None
    kind = next(k for k, cls in _KINDS.items() if isinstance(markup, cls))
    return json.dumps({"kind": kind, "data": markup.to_dict()})


def decode(raw: str | None) -> Markup:
    if not raw:
        return None
    stored = json.loads(raw)
    markup: Markup = _KINDS[stored["kind"]].de_json(stored["data"], None)
    return markup


@dataclass(frozen=True)
class Item:
    """One message to send: `text` (or a copy of message `copy_of` in chat `copy_from`), its
    keyboard, `parse_mode`, the message it replies to, and the handoff it relays for."""

    text: str
    markup: Markup = None
    parse_mode: str | None = None
    reply_to: int | None = None
    copy_from: int | None = None
    copy_of: int | None = None
    handoff_id: int | None = None


@dataclass(frozen=True)
class Delivery:
    """How sending a batch went at once: `refused`, the error of the first message Telegram
    refused for good (400, 403: dropped); `waiting`, whether some wait in the outbox (sent
    later, in order)."""

    refused: TelegramError | None = None
    waiting: bool = False


@dataclass(frozen=True)
class Queued:
    id: int
    text: str
    markup: str | None
    attempts: int
    parse_mode: str | None = None
    reply_to: int | None = None
    copy_from: str | None = None
    copy_of: int | None = None
    handoff_id: int | None = None


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value


def _free(now: dt.datetime) -> ColumnElement[bool]:
    return or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now)


def enqueue(session: Session, chat_id: str, items: Sequence[tuple[str, str | None] | Item],
            now: dt.datetime, settle: Callable[[Session], None] | None = None) -> list[int]:
    """Queue a turn's messages (`Item`s, or (text, encoded markup)); `settle` runs in the same
    transaction (a kept message marked answered, say), so the answer is queued if and only if
    that happened. The new rows' ids."""
    if settle is not None:
        settle(session)
    rows = [OutboxMessage(chat_id=chat_id, text=item[0], markup=item[1], attempts=0,
                          created_at=now) if isinstance(item, tuple) else
            OutboxMessage(chat_id=chat_id, text=item.text, markup=encode(item.markup),
                          parse_mode=item.parse_mode, reply_to=item.reply_to,
                          copy_from=None if item.copy_from is None else str(item.copy_from),
                          copy_of=item.copy_of, handoff_id=item.handoff_id, attempts=0,
                          created_at=now)
            for item in items]
    session.add_all(rows)
    session.flush()
    return [row.id for row in rows]


def forget_chat(session: Session, chat_id: str) -> int:
    """The person asked to be forgotten: what still waits to be sent to their chat goes (what
    waits for the staff group about them goes with their handoff requests)."""
    result = session.execute(delete(OutboxMessage).where(OutboxMessage.chat_id == chat_id))
    return int(result.rowcount)  # type: ignore[attr-defined]


def claim(session: Session, chat_id: str, now: dt.datetime, token: str) -> list[Queued]:
    """The chat's waiting messages, oldest first, claimed for `token`; [] when the oldest is
    not due yet or another replica is sending them (order is kept: nothing overtakes)."""
    rows = session.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == chat_id)
                           .order_by(OutboxMessage.id)).all()
    if not rows:
        return []
    first = rows[0]
    due = _aware(first.not_before)
    held = _aware(first.claimed_until)
    if (due is not None and due > now) or (held is not None and held >= now):
        return []
    ids = [row.id for row in rows]
    session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids), _free(now))
                    .values(claimed_until=now + CLAIM, claimed_by=token)
                    .execution_options(synchronize_session=False))
    mine = session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids),
                                                       OutboxMessage.claimed_by == token)
                           .order_by(OutboxMessage.id)).all()
    return [Queued(row.id, row.text, row.markup, row.attempts, row.parse_mode, row.reply_to,
                   row.copy_from, row.copy_of, row.handoff_id) for row in mine]


def renew(session: Session, token: str, now: dt.datetime) -> int:
    result = session.execute(update(OutboxMessage).where(OutboxMessage.claimed_by == token)
                             .values(claimed_until=now + CLAIM)
                             .execution_options(synchronize_session=False))
    return int(result.rowcount)  # type: ignore[attr-defined]


def sent(session: Session, message_id: int, *, link: tuple[int, int, int] | None = None) -> None:
    """Done with a message; `link` (request, staff chat, Telegram's message id): a relay to
    the staff group, remembered so that a reply to it reaches the user."""
    gone = session.execute(delete(OutboxMessage).where(OutboxMessage.id == message_id))
    if link is not None and gone.rowcount:  # type: ignore[attr-defined]
        request, staff_chat_id, telegram_id = link
        handoffs.link_message(session, request, staff_chat_id=staff_chat_id,
                              message_id=telegram_id)


def postpone(session: Session, token: str, not_before: dt.datetime, first: int) -> None:
    """Free this claim's messages; the first (`first`, the one that failed) counts an attempt
    and waits until `not_before`."""
    session.execute(update(OutboxMessage).where(OutboxMessage.id == first)
                    .values(attempts=OutboxMessage.attempts + 1, not_before=not_before)
                    .execution_options(synchronize_session=False))
    session.execute(update(OutboxMessage).where(OutboxMessage.claimed_by == token)
                    .values(claimed_until=None, claimed_by=None)
                    .execution_options(synchronize_session=False))


def chats_due(session: Session, now: dt.datetime) -> list[str]:
    rows = session.execute(select(OutboxMessage.chat_id, OutboxMessage.id)
                           .where(_free(now), or_(OutboxMessage.not_before.is_(None),
                                                  OutboxMessage.not_before <= now))
                           .order_by(OutboxMessage.id))
    return list(dict.fromkeys(chat for chat, _ in rows))


def waiting(session: Session) -> int:
    return len(session.scalars(select(OutboxMessage.id)).all())


def _seconds(retry_after: int | dt.timedelta) -> float:
    return retry_after.total_seconds() if isinstance(retry_after, dt.timedelta) \
        else float(retry_after)


class Outbox:
    def __init__(self, bot: ExtBot[Any], db: Database, locks: ChatLocks,
                 clock: Callable[[], dt.datetime] = utcnow, *,
                 backoff_seconds: float = 2.0) -> None:
        self.bot, self.db, self.locks, self.clock = bot, db, locks, clock
        self.backoff_seconds = backoff_seconds

    async def send(self, chat_id: int, items: Sequence[tuple[str, Markup] | Item], *,
                   settle: Callable[[Session], None] | None = None) -> Delivery:
        """Deliver messages in order: persisted first, then sent (a turn's replies: the caller
        holds the chat's lock; a sender that does not is safe too, see `flush`). `settle`: see
        `enqueue`."""
        batch = [item if isinstance(item, Item) else Item(item[0], item[1]) for item in items]
        try:
            ids = await self.db.run(enqueue, sender_id(chat_id), batch, self.clock(), settle)
        except SQLAlchemyError as error:
            if settle is not None:
                raise  # nothing was settled: the message is answered later
            log.error("outbox unavailable (%s): sending directly", type(error).__name__)
            for item in batch:
                try:
                    await self._send(chat_id, item)
                except (BadRequest, Forbidden) as refused:
                    return Delivery(refused=refused)
            return Delivery()
        outcomes: dict[int, TelegramError | None] = {}
        await self.flush(chat_id, outcomes)
        errors = [outcomes[i] for i in ids if outcomes.get(i) is not None]
        return Delivery(refused=errors[0] if errors else None,
                        waiting=any(i not in outcomes for i in ids))

    async def say(self, chat_id: int, text: str) -> None:
        await self.send(chat_id, [(text, None)])

    async def _send(self, chat_id: int, item: Item | Queued) -> int:
        """One message to Telegram; its message id."""
        markup = item.markup if isinstance(item, Item) else decode(item.markup)
        reply = None if item.reply_to is None else ReplyParameters(
            item.reply_to, allow_sending_without_reply=True)
        if item.copy_of is not None and item.copy_from is not None:
            copied = await self.bot.copy_message(chat_id, int(item.copy_from), item.copy_of,
                                                 reply_markup=markup, reply_parameters=reply)
            return copied.message_id
        message = await self.bot.send_message(chat_id, item.text, parse_mode=item.parse_mode,
                                               reply_markup=markup, reply_parameters=reply)
        return message.message_id

    async def flush(self, chat_id: int,
                    outcomes: dict[int, TelegramError | None] | None = None) -> bool:
        """Send the chat's waiting messages in order; False if some must wait (retried by the
        job). `outcomes` gets each message sent (None) or refused for good (the error).

        Without the chat's lock, another flush may hold the chat's messages: then this one
        sends nothing, and what it would have sent goes with the job's next round."""
        token = new_token()
        queued = await self.db.run(claim, sender_id(chat_id), self.clock(), token)
        if not queued:
            return True
        async with Heartbeat(self.db, renew, token, self.clock) as heartbeat:
            for message in queued:
                if not heartbeat.holding:
                    return False  # the claim was lost: another replica sends the rest
                try:
                    telegram_id = await self._send(chat_id, message)
                except RetryAfter as error:
                    wait = dt.timedelta(seconds=_seconds(error.retry_after))
                    log.warning("Telegram asked to wait %.0f s: a reply waits in the outbox",
                                wait.total_seconds())
                    await self.db.run(postpone, token, self.clock() + wait, message.id)
                    return False
                except (BadRequest, Forbidden) as error:
                    log.error("Telegram refused a reply (%s): dropped", type(error).__name__)
                    await self.db.run(sent, message.id)
                    if outcomes is not None:
                        outcomes[message.id] = error
                    continue
                except (NetworkError, TelegramError) as error:
                    wait = min(MAX_BACKOFF, dt.timedelta(
                        seconds=self.backoff_seconds * 2 ** message.attempts))
                    log.warning("Telegram failed (%s): a reply waits in the outbox %.0f s",
                                type(error).__name__, wait.total_seconds())
                    await self.db.run(postpone, token, self.clock() + wait, message.id)
                    return False
                link = None if message.handoff_id is None else (
                    message.handoff_id, chat_id, telegram_id)
                await self.db.run(sent, message.id, link=link)
                if outcomes is not None:
                    outcomes[message.id] = None
        return True

    async def drain(self) -> None:
        """The outbox job: send what waits for each chat whose turn has come."""
        try:
            chats = await self.db.run(chats_due, self.clock())
        except SQLAlchemyError as error:
            log.warning("outbox not checked: %s", type(error).__name__)
            return
        for chat in chats:
            if chat.lstrip("-").isdigit():
                async with self.locks.hold(int(chat)):
                    await self.flush(int(chat))
