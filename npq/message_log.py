"""Every user message, what the model made of it and what the assistant replied.

The front end calls `record_turn` after each turn (the parse is the `latest_message` of Rasa's
GET /conversations/{id}/tracker?include_events=NONE) and `record_feedback` for a thumbs up or
down; a message the model was unsure about, or whose answer got a thumbs-down, joins the review
queue (npq/review_queue.py). A daily job calls `purge_expired`, which removes the text, reply and
entities of messages older than the retention period (MESSAGE_RETENTION_DAYS, default 90) and
unlinks them from the chat, keeping only what the statistics count.

The caller owns the session (and commits). `now` is always a parameter.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from npq.db.models import MessageLog
from npq.intents import FALLBACK, OUT_OF_SCOPE

MAX_TEXT_CHARS = 4096  # Telegram's own limit for one message
RETENTION_DAYS = 90
# A reviewer's label other than an intent (message_log.review_label): never trained on, or
# left in the queue after the others.
NOT_RELEVANT = "not_relevant"
SKIP = "skip"
TOP_INTENTS = 5
# Contact details typed into a message: kept out of the log (and so out of review and training)
EMAIL_IN_TEXT = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", re.IGNORECASE)
# ... and spelt out: "priya at school dot org", "sam [at] trust [dot] org"
SPELT_EMAIL_IN_TEXT = re.compile(r"[\w.+-]+\s*[\[(]?\s*\bat\b\s*[\])]?\s*[\w-]+(?:\s*[\[(]?\s*"
                                 r"\bdot\b\s*[\])]?\s*[\w-]+)+", re.IGNORECASE)
PHONE_IN_TEXT = re.compile(r"(?:\+44\s?(?:\(0\)\s?)?|\b0)\d{2,4}[\s-]?\d{3,4}[\s-]?\d{3,4}\b")


def utc(moment: dt.datetime) -> dt.datetime:
    """An aware UTC time (a naive one is taken as UTC, as SQLite hands them back)."""
    return moment.replace(tzinfo=dt.timezone.utc) if moment.tzinfo is None \
        else moment.astimezone(dt.timezone.utc)


def masked(text: str) -> str:
    """The text with e-mail addresses and phone numbers replaced by [email] and [phone]: the log
    is for counting and reviewing what people ask, not for keeping how to reach them (a lead's
    details are stored, with consent, in leads)."""
    text = SPELT_EMAIL_IN_TEXT.sub("[email]", EMAIL_IN_TEXT.sub("[email]", text))
    return PHONE_IN_TEXT.sub("[phone]", text)


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
        item: dict[str, Any] = {
            "entity": str(e.get("entity")),
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
    row = MessageLog(chat_id=str(chat_id), text=storable(masked(text)))
    row.intent, row.confidence = intent.get("name"), intent.get("confidence")
    row.entities = stored_entities(parse.get("entities") or [])
    row.ranking, row.created_at = top_intents(parse), utc(now)
    row.reply = storable(masked(reply)) if reply is not None else None
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
