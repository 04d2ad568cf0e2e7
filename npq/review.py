"""Messages kept for staff to review: what a user said and what the model made of it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from npq.db.models import MessageLog

MAX_TEXT_CHARS = 4096  # Telegram's own limit for one message


def record_for_review(session: Session, *, chat_id: str, text: str, intent: str | None,
                      confidence: float | None, entities: Sequence[dict[str, Any]] = (),
                      reply: str | None = None) -> MessageLog:
    """Queue a message the assistant was unsure about (low confidence, out of scope)."""
    row = MessageLog(
        chat_id=chat_id,
        text=text[:MAX_TEXT_CHARS],
        intent=intent,
        confidence=confidence,
        entities=[{"entity": e.get("entity"), "value": e.get("value")} for e in entities],
        reply=reply,
        needs_review=True,
    )
    session.add(row)
    session.flush()
    return row
