"""The review queue: messages of the message log staff should look at, and their labels.

A message waits for review when the model was unsure about it, fell back or found it out of
scope, or when a user marked its answer 👎 (npq/message_log.py decides). The same text, ignoring
case and spacing, is one item with a count. Staff work through `review_queue` and `label` each
item (on Telegram: bot/review.py; in a terminal: ops/review.py); `labelled_examples` are what
ops/training_data.py writes into the training data.

The caller owns the session (and commits). `now` is always a parameter.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from npq.db.models import MessageLog
from npq.intents import FALLBACK, OUT_OF_SCOPE
from npq.message_log import NOT_RELEVANT, SKIP, normalise, utc

INTENT_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")


@dataclass(frozen=True)
class QueueItem:
    """Messages with the same text (ignoring case and spacing), reviewed together."""

    key: str  # the normalised text
    text: str  # as the latest sender wrote it
    count: int
    ids: tuple[int, ...]  # every message in the group, latest first
    top_intents: tuple[tuple[str, float], ...]  # the model's best guesses for the latest one
    reasons: tuple[str, ...]  # fallback, out_of_scope, low_confidence, unhelpful
    skipped: bool  # a reviewer skipped it before; it comes after the fresh ones
    latest_at: dt.datetime
    senders: int = 1  # how many chats sent it (one chat repeating itself counts once)

    @property
    def latest_id(self) -> int:
        return self.ids[0]


def _pending(session: Session) -> list[MessageLog]:
    return list(session.scalars(
        select(MessageLog)
        .where(MessageLog.needs_review, MessageLog.text.is_not(None),
               or_(MessageLog.review_label.is_(None), MessageLog.review_label == SKIP))
        .order_by(MessageLog.created_at.desc(), MessageLog.id.desc())))


def _reasons(rows: Iterable[MessageLog]) -> tuple[str, ...]:
    found = []
    for row in rows:
        reason = ("unhelpful" if row.feedback == "down" else "fallback" if row.intent == FALLBACK
                  else OUT_OF_SCOPE if row.intent == OUT_OF_SCOPE else "low_confidence")
        if reason not in found:
            found.append(reason)
    return tuple(found)


def _groups(rows: list[MessageLog]) -> dict[str, list[MessageLog]]:
    groups: dict[str, list[MessageLog]] = {}
    for row in rows:  # latest first
        key = normalise(row.text or "")
        if key:
            groups.setdefault(key, []).append(row)
    return groups


def _item(key: str, rows: list[MessageLog]) -> QueueItem:
    latest = rows[0]
    ranking = latest.ranking or ([{"name": latest.intent, "confidence": latest.confidence}]
                                 if latest.intent and latest.intent != FALLBACK else [])
    return QueueItem(
        key=key, text=latest.text or "", count=len(rows), ids=tuple(r.id for r in rows),
        top_intents=tuple((str(r["name"]), float(r.get("confidence") or 0.0)) for r in ranking),
        reasons=_reasons(rows), skipped=all(r.review_label == SKIP for r in rows),
        latest_at=utc(latest.created_at), senders=len({r.chat_id for r in rows}))


def review_queue(session: Session, *, limit: int = 20) -> list[QueueItem]:
    """What staff should look at: sent by the most people first (one chat repeating a message
    counts once, so nobody can push their text to the top), then most recent; items a
    reviewer skipped come after the rest."""
    items = [_item(key, rows) for key, rows in _groups(_pending(session)).items()]
    items.sort(key=lambda i: (i.skipped, -i.senders, -i.latest_at.timestamp(), -i.latest_id))
    return items[:limit]


def queue_item(session: Session, message_id: int) -> QueueItem | None:
    """The queue item a message belongs to (a button can carry just the message id), or None
    once it has been labelled or purged."""
    row = session.get(MessageLog, message_id)
    if row is None or not row.text:
        return None
    rows = _groups(_pending(session)).get(normalise(row.text))
    return _item(normalise(row.text), rows) if rows else None


def queue_size(session: Session) -> int:
    """How many distinct messages wait for review (skipped ones included)."""
    return len(_groups(_pending(session)))


def label(session: Session, item: QueueItem, *, intent: str, staff_id: str | int,
          now: dt.datetime, intents: Collection[str] | None = None) -> int:
    """Record a reviewer's decision for every message of the item (and any copy that arrived
    since): an intent name (it becomes a training example), NOT_RELEVANT (dropped from the
    queue, never trained on) or SKIP (stays, after the others). `intents`, when given, are the
    names allowed (domain.yml's). Returns how many messages were labelled."""
    if intent in (FALLBACK, "") or not INTENT_NAME.fullmatch(intent) or (
            intents is not None and intent not in (*intents, NOT_RELEVANT, SKIP)):
        raise ValueError(f"not an intent to label with: {intent!r}")
    rows = [r for r in _pending(session) if normalise(r.text or "") == item.key]
    rows += [r for r in session.scalars(select(MessageLog).where(MessageLog.id.in_(item.ids)))
             if r not in rows and r.text is not None]
    for row in rows:
        row.review_label = intent
        row.reviewed_by = str(staff_id)
        row.reviewed_at = utc(now)
        row.needs_review = intent == SKIP
    session.flush()
    return len(rows)


@dataclass(frozen=True)
class Labelled:
    """A message staff gave an intent, ready to become a training example."""

    text: str
    intent: str
    entities: tuple[dict[str, Any], ...]
    message_id: int


def labelled_examples(session: Session) -> list[Labelled]:
    """Every labelled message whose text is still kept, one per text, oldest label first."""
    rows = session.scalars(
        select(MessageLog)
        .where(MessageLog.text.is_not(None), MessageLog.review_label.is_not(None),
               MessageLog.review_label.not_in((NOT_RELEVANT, SKIP)))
        .order_by(MessageLog.reviewed_at, MessageLog.id))
    seen: dict[str, Labelled] = {}
    for row in rows:
        key = normalise(row.text or "")
        if key not in seen:
            seen[key] = Labelled(row.text or "", row.review_label or "",
                                 tuple(row.entities or ()), row.id)
    return list(seen.values())
