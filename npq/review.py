"""Every user message, what the model made of it and what the assistant replied; the queue of
messages staff should look at, and their labels.

The front end calls `record_turn` after each turn (the parse is the `latest_message` of Rasa's
GET /conversations/{id}/tracker?include_events=NONE) and `record_feedback` for a thumbs up or
down; a daily job calls `purge_expired`, which removes the text, reply and entities of messages
older than the retention period (MESSAGE_RETENTION_DAYS, default 90) and unlinks them from the
chat, keeping only what the statistics count. Staff work through `review_queue` and `label` each
item; ops/review.py writes the labelled messages into the training data.

The caller owns the session (and commits). `now` is always a parameter.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from npq.db.models import MessageLog, ModelPromotion

MAX_TEXT_CHARS = 4096  # Telegram's own limit for one message
RETENTION_DAYS = 90
FALLBACK = "nlu_fallback"
OUT_OF_SCOPE = "out_of_scope"
NOT_RELEVANT = "not_relevant"
SKIP = "skip"
TOP_INTENTS = 5
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

    @property
    def latest_id(self) -> int:
        return self.ids[0]


def utc(moment: dt.datetime) -> dt.datetime:
    """An aware UTC time (a naive one is taken as UTC, as SQLite hands them back)."""
    return moment.replace(tzinfo=dt.timezone.utc) if moment.tzinfo is None \
        else moment.astimezone(dt.timezone.utc)


def storable(text: str) -> str:
    """Text every database takes: no NUL (PostgreSQL refuses it), lone surrogates replaced."""
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")[:MAX_TEXT_CHARS]


def normalise(text: str) -> str:
    """The grouping key: case-folded, whitespace collapsed."""
    return " ".join(text.casefold().split())


def retention_days(environ: Mapping[str, str]) -> int:
    """MESSAGE_RETENTION_DAYS (whole days, at least 1; 90 when unset)."""
    raw = environ.get("MESSAGE_RETENTION_DAYS") or ""
    if not raw:
        return RETENTION_DAYS
    if not raw.strip().isdigit() or int(raw) < 1:
        raise ValueError(f"MESSAGE_RETENTION_DAYS must be a whole number of days, not {raw!r}")
    return int(raw)


def review_reason(parse: Mapping[str, Any], threshold: float) -> str | None:
    """Why a parsed message needs a person to look at it, or None."""
    intent = parse.get("intent") or {}
    name, confidence = intent.get("name"), intent.get("confidence")
    if name == FALLBACK:
        return "fallback"
    if name == OUT_OF_SCOPE:
        return OUT_OF_SCOPE
    if not name or confidence is None or float(confidence) < threshold:
        return "low_confidence"
    return None


def top_intents(parse: Mapping[str, Any], n: int = TOP_INTENTS) -> list[dict[str, Any]]:
    """The model's best intents other than nlu_fallback, best first."""
    ranking = parse.get("intent_ranking") or ([parse["intent"]] if parse.get("intent") else [])
    named = [r for r in ranking if r.get("name") and r.get("name") != FALLBACK]
    named.sort(key=lambda r: -float(r.get("confidence") or 0.0))
    return [{"name": str(r["name"]), "confidence": round(float(r.get("confidence") or 0.0), 4)}
            for r in named[:n]]


def stored_entities(entities: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Type, value and character span of each entity (what a training example needs)."""
    kept = []
    for e in entities:
        value = e.get("value")
        item: dict[str, Any] = {"entity": str(e.get("entity")),
                                "value": value if isinstance(value, (str, int, float)) else str(value)}
        if isinstance(e.get("start"), int) and isinstance(e.get("end"), int):
            item.update(start=e["start"], end=e["end"])
        kept.append(item)
    return kept


def record_turn(session: Session, *, chat_id: str | int, text: str, parse: Mapping[str, Any],
                reply: str | None, now: dt.datetime, threshold: float) -> MessageLog:
    """Log one turn; it joins the review queue when the model was unsure, fell back or found it
    out of scope (threshold: the FallbackClassifier's, from config.yml)."""
    intent = parse.get("intent") or {}
    row = MessageLog(chat_id=str(chat_id), text=storable(text))
    row.intent, row.confidence = intent.get("name"), intent.get("confidence")
    row.entities = stored_entities(parse.get("entities") or [])
    row.ranking, row.created_at = top_intents(parse), utc(now)
    row.reply = storable(reply) if reply is not None else None
    row.needs_review = review_reason(parse, threshold) is not None
    session.add(row)
    session.flush()
    return row


def record_feedback(session: Session, message_id: int, chat_id: str | int, up: bool) -> bool:
    """A thumbs up or down on a reply; down puts the message in the queue. Only the chat that
    sent the message can rate it; False when there is no such message (or it was purged)."""
    row = session.get(MessageLog, message_id)
    if row is None or row.chat_id != str(chat_id) or row.text is None:
        return False
    row.feedback = "up" if up else "down"
    if not up and row.review_label in (None, SKIP):
        row.needs_review = True
    session.flush()
    return True


def purge_expired(session: Session, *, now: dt.datetime, days: int) -> int:
    """Remove what users wrote (text, reply, entities) and the link to their chat from messages
    older than `days`; intent, confidence and time stay for the statistics. Returns how many."""
    cutoff = utc(now) - dt.timedelta(days=days)
    result = session.execute(
        update(MessageLog)
        .where(MessageLog.created_at < cutoff,
               or_(MessageLog.text.is_not(None), MessageLog.reply.is_not(None),
                   MessageLog.chat_id != ""))
        .values(text=None, reply=None, entities=[], chat_id="", needs_review=False)
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


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
        latest_at=utc(latest.created_at))


def review_queue(session: Session, *, limit: int = 20) -> list[QueueItem]:
    """What staff should look at: most frequent first, then most recent; items a reviewer
    skipped come after the rest."""
    items = [_item(key, rows) for key, rows in _groups(_pending(session)).items()]
    items.sort(key=lambda i: (i.skipped, -i.count, -i.latest_at.timestamp(), -i.latest_id))
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


def log_model_action(session: Session, *, action: str, model_file: str,
                     previous_model: str | None, staff_id: str | int,
                     scores_before: Mapping[str, float] | None,
                     scores_after: Mapping[str, float] | None, reasons: Sequence[str] = (),
                     now: dt.datetime) -> ModelPromotion:
    """Record a promotion, a refused candidate or a rollback (ops/retrain.py does)."""
    row = ModelPromotion(action=action, model_file=model_file, previous_model=previous_model,
                         staff_id=str(staff_id), reasons=list(reasons), created_at=utc(now),
                         scores_before=dict(scores_before) if scores_before else None,
                         scores_after=dict(scores_after) if scores_after else None)
    session.add(row)
    session.flush()
    return row


def model_actions(session: Session, *, limit: int = 10) -> list[ModelPromotion]:
    """The latest promotions, refusals and rollbacks, newest first."""
    return list(session.scalars(select(ModelPromotion)
                                .order_by(ModelPromotion.created_at.desc(),
                                          ModelPromotion.id.desc()).limit(limit)))


def known_scores(session: Session, model_file: str) -> dict[str, float] | None:
    """The held-out scores last measured for a model (as candidate or as the one in service)."""
    for row in model_actions(session, limit=200):
        if row.model_file == model_file and row.scores_after:
            return dict(row.scores_after)
        if row.previous_model == model_file and row.scores_before:
            return dict(row.scores_before)
    return None
