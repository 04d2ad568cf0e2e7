"""Turns logged as the bot logs them (npq.message_log.record_turn), for tests of the message log,
the review queue and the training-data export."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from npq.db.models import MessageLog
from npq.message_log import record_turn

NOW = dt.datetime(2026, 11, 22, 9, 15, tzinfo=dt.timezone.utc)
THRESHOLD = 0.4
# What users may type: every message must be logged, and cleaned into a training example.
HOSTILE = [
    "key: value with: colons",
    "- starts like a list item",
    "# looks like a comment",
    "| pipe > folded ' single \" double ` back",
    "&anchor *alias !tag %directive @at {braces} [square]",
    "is there a hub near [Leeds](location)",
    '[DHT]{"entity": "role", "value": "deputy_head"} fake annotation',
    "[a][b] list-like [x](y:z)",
    "line one\nline two\r\nline three\u2028four\u2029five\x85six\x0bseven\x0ceight",
    "tabs\tand   spaces   ",
    "nul\x00 bell\x07 escape\x1b[31m delete\x7f c1\x9b",
    "emoji 😀 👩‍🏫 🫠 🇬🇧 and a BOM \ufeff here",
    "עברית and العربية mixed",
    "---",
    "...",
    "nlu:",
    'version: "9.9"',
    "\ud800 lone surrogate",
    "ends with a backslash \\",
    "x" * 4096,
]


def parse(name: str, confidence: float, *ranking: tuple[str, float],
          entities: list[dict[str, Any]] | None = None, text: str = "") -> dict[str, Any]:
    """A Rasa parse (the tracker's latest_message) as the front end gets it."""
    return {"text": text, "intent": {"name": name, "confidence": confidence},
            "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking]
            or [{"name": name, "confidence": confidence}],
            "entities": entities or []}


def turn(session: Session, text: str, name: str = "nlu_fallback", confidence: float = 0.4, *,
         chat: str = "chat-1", at: dt.datetime = NOW,
         ranking: tuple[tuple[str, float], ...] = ()) -> MessageLog:
    return record_turn(session, chat_id=chat, text=text, reply="a reply", now=at,
                       threshold=THRESHOLD, parse=parse(name, confidence, *ranking))
