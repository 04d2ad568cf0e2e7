"""Inline buttons whose callback data survive restarts and work on every replica.

Telegram allows 64 bytes of callback data. Ours is ``signature + kind + body``:

- ``p`` + a Rasa payload, compacted (``/find_hub{"npq":"NPQH"}``), when it fits;
- ``d`` + the id of a stored ButtonPayload for a longer payload (kept by its digest);
- ``h`` + a handoff id: the user ends a chat with staff; ``c`` + a handoff id: staff close it;
- ``f`` + ``u`` or ``d`` + a message_log id: thumbs up or down on an answer (bot/feedback.py);
- ``r`` + a review action: staff labelling the review queue (bot/review.py).

The signature is 8 characters of an HMAC keyed from the bot token, so a forged button, or one
from before the token changed, is refused as expired rather than forwarded. Nothing is kept in
memory: a button sent before a restart, or by another replica, still works.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.db import Database
from bot.rasa_client import RasaButton
from bot.render import button_rows
from npq.db.models import ButtonPayload

LIMIT = 64
SIGNATURE = 8
PAYLOAD, STORED, END_HANDOFF, CLOSE_HANDOFF = "p", "d", "h", "c"
FEEDBACK, REVIEW = "f", "r"


@dataclass(frozen=True)
class Pressed:
    kind: str  # PAYLOAD (body is the payload), END_HANDOFF, CLOSE_HANDOFF (body an id),
    # FEEDBACK, REVIEW (body as bot/feedback.py and bot/review.py write it)
    body: str


def compact(payload: str) -> str:
    """`/intent{"a": "b"}` -> `/intent{"a":"b"}`: the same to Rasa, fewer bytes."""
    intent, brace, rest = payload.partition("{")
    if not brace:
        return payload
    try:
        entities = json.loads(brace + rest)
    except ValueError:
        return payload
    return intent + json.dumps(entities, separators=(",", ":"), ensure_ascii=False)


class ButtonCodec:
    def __init__(self, token: str, db: Database) -> None:
        self._key = hashlib.sha256(b"npq-buttons\0" + token.encode()).digest()
        self._db = db

    def _sign(self, text: str) -> str:
        digest = hmac.new(self._key, text.encode("utf-8", "surrogatepass"),
                          hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode()[:SIGNATURE]

    def local(self, kind: str, body: str | int) -> str:
        """Data for a button the bot handles itself (END_HANDOFF, CLOSE_HANDOFF, FEEDBACK,
        REVIEW)."""
        text = f"{kind}{body}"
        data = self._sign(text) + text
        if len(data.encode()) > LIMIT:
            raise ValueError(f"callback data over Telegram's {LIMIT} bytes: {text!r}")
        return data

    async def payload(self, payload: str) -> str:
        text = PAYLOAD + compact(payload)
        if len((self._sign(text) + text).encode()) <= LIMIT:
            return self._sign(text) + text
        row_id = await self._db.run(_store, payload)
        return self.local(STORED, row_id)

    async def decode(self, data: str | None) -> Pressed | None:
        """What a pressed button stands for; None for anything we did not sign."""
        if not data or len(data) <= SIGNATURE:
            return None
        signature, text = data[:SIGNATURE], data[SIGNATURE:]
        # compared as bytes: compare_digest refuses str with non-ASCII characters (TypeError),
        # and a forged button may carry any
        if not hmac.compare_digest(signature.encode("utf-8", "surrogatepass"),
                                   self._sign(text).encode()):
            return None
        kind, body = text[0], text[1:]
        if kind == STORED:
            stored = await self._db.run(_load, int(body)) if body.isdigit() else None
            return Pressed(PAYLOAD, stored) if stored else None
        return Pressed(kind, body)

    async def keyboard(self, buttons: Iterable[RasaButton],
                       *extra: InlineKeyboardButton) -> InlineKeyboardMarkup | None:
        """Rasa's buttons, short ones two or three a row (render.button_rows), then each of
        `extra` (e.g. a link) on a row of its own."""
        inline = [InlineKeyboardButton(b.title[:64], callback_data=await self.payload(b.payload))
                  for b in buttons]
        rows = [[inline[i] for i in row] for row in button_rows([b.text for b in inline])]
        rows += [[button] for button in extra]
        return InlineKeyboardMarkup(rows) if rows else None


def _store(session: Session, payload: str) -> int:
    digest = hashlib.sha256(payload.encode()).hexdigest()
    found = session.scalars(select(ButtonPayload.id).where(ButtonPayload.digest == digest)).first()
    if found is not None:
        return found
    row = ButtonPayload(digest=digest, payload=payload)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # another replica stored it at the same moment
        return session.scalars(select(ButtonPayload.id)
                               .where(ButtonPayload.digest == digest)).one()
    return row.id


def _load(session: Session, row_id: int) -> str | None:
    row = session.get(ButtonPayload, row_id)
    return row.payload if row else None
