"""Thumbs up or down under an answer (bot/turns.py decides which answers get them).

The buttons carry the message_log id of the question, signed (bot/buttons.py), so they keep
working after a restart. A press is recorded (npq.message_log.record_feedback: only the chat that
sent the message can rate it; a thumbs-down puts it in the review queue), thanked with a short
notice and the two buttons are removed; the answer's own buttons stay.
"""

from __future__ import annotations

import contextlib

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.buttons import FEEDBACK, ButtonCodec
from bot.db import Database
from npq.message_log import record_feedback

UP, DOWN = "u", "d"
PROMPT = "Was this helpful?"  # only when the answer itself cannot carry the buttons
THANKS_UP = "Thanks! Glad it helped."
THANKS_DOWN = "Thanks for telling me. Someone from our team will look at it so I can improve."
THANKED = "Thanks for your feedback."
NOT_YOURS = "That button has expired."


def thumbs(codec: ButtonCodec, message_id: int) -> list[InlineKeyboardButton]:
    """The row of two buttons for the answer to message `message_id`."""
    return [InlineKeyboardButton("👍", callback_data=codec.local(FEEDBACK, f"{UP}{message_id}")),
            InlineKeyboardButton("👎", callback_data=codec.local(FEEDBACK, f"{DOWN}{message_id}"))]


def with_thumbs(markup: InlineKeyboardMarkup | None,
                row: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    """The answer's own buttons (if any), then the thumbs."""
    rows = [list(r) for r in markup.inline_keyboard] if markup else []
    return InlineKeyboardMarkup([*rows, row])


def without_row(markup: InlineKeyboardMarkup | None,
                data: str | None) -> InlineKeyboardMarkup | None:
    """The keyboard without the row holding the button whose callback data is `data`."""
    rows = [list(r) for r in (markup.inline_keyboard if markup else ())
            if not any(b.callback_data == data for b in r)]
    return InlineKeyboardMarkup(rows) if rows else None


async def rated(update: Update, db: Database, body: str) -> None:
    """A thumbs button: record it for this chat's message, thank, tidy the buttons."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None:
        return
    up, message_id = body[:1] == UP, body[1:]
    recorded = message_id.isdigit() and body[:1] in (UP, DOWN) and await db.run(
        record_feedback, int(message_id), chat.id, up)
    if not recorded:  # another chat's message, or purged since
        await query.answer(NOT_YOURS)
        return
    await query.answer(THANKS_UP if up else THANKS_DOWN)
    message = query.message
    markup = without_row(getattr(message, "reply_markup", None), query.data)
    with contextlib.suppress(BadRequest):  # already tidied, or too old to edit
        if getattr(message, "text", None) == PROMPT:
            await query.edit_message_text(THANKED, reply_markup=markup)
        else:
            await query.edit_message_reply_markup(reply_markup=markup)
