"""Messages kept while Rasa or the action server is down, in the database so that a restart of
the bot loses none. Functions take a session (see bot.db.Database.run); nothing commits here.

A replica retrying a chat's messages claims them for CLAIM_SECONDS, so two replicas never
answer the same message; a claim left by a replica that died expires on its own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.orm import Session

from npq.db.models import PendingMessage

CLAIM = dt.timedelta(seconds=120)


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
