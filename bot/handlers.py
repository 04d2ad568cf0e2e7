"""Telegram handlers for everything but commands: one short coroutine per kind of update."""

from __future__ import annotations

import contextlib
import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import ApplicationHandlerStop

from bot import feedback, review
from bot.buttons import CLOSE_HANDOFF, END_HANDOFF, FEEDBACK, PAYLOAD, REVIEW
from bot.context import BotContext
from bot.rasa_client import is_command
from bot.render import (
    CHANNEL,
    EDITED,
    ERROR,
    EXPIRED_BUTTON,
    GROUP,
    NOT_TEXT,
    NOT_TEXT_OPENING,
    UNKNOWN_COMMAND,
    escape,
    location_payload,
)

log = logging.getLogger(__name__)
ONLY_STAFF_CLOSE = "Only the team members listed in STAFF_USER_IDS can close requests."


async def text(update: Update, context: BotContext) -> None:
    """A typed message: ask Rasa and send its replies."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    if is_command(message.text):
        await context.services.outbox.say(message.chat_id, UNKNOWN_COMMAND)
        return
    log.debug("chat %s typed %r", message.chat_id, message.text)
    await context.conversation.turn(message.chat_id, message.text, typed=True,
                                    name=_first_name(update))


async def location(update: Update, context: BotContext) -> None:
    """A shared location: the nearest hubs to it (or whatever the assistant asked where for)."""
    message = update.effective_message
    if message is None or message.location is None:
        return
    await context.conversation.turn(
        message.chat_id, location_payload(message.location.latitude, message.location.longitude),
        typed=False, name=_first_name(update))


async def button(update: Update, context: BotContext) -> None:
    """An inline button: acknowledge it, tidy the keyboard (showing the choice), act on it."""
    query = update.callback_query
    chat = update.effective_chat
    if query is None or chat is None:
        return
    pressed = await context.services.buttons.decode(query.data)
    if pressed is not None and pressed.kind == CLOSE_HANDOFF and \
            (query.from_user is None
             or query.from_user.id not in context.services.settings.staff_user_ids):
        await query.answer(ONLY_STAFF_CLOSE, show_alert=True)
        return
    if pressed is not None and pressed.kind == FEEDBACK:
        await feedback.rated(update, context.services.db, pressed.body)
        return
    if pressed is not None and pressed.kind == REVIEW:
        await review.pressed(update, context, pressed.body)
        return
    await query.answer()
    if query.message is not None and pressed is not None and pressed.kind == PAYLOAD:
        await _show_choice(update)
    if pressed is None:
        await context.services.outbox.say(chat.id, EXPIRED_BUTTON)
    elif pressed.kind == PAYLOAD:
        await context.conversation.turn(chat.id, pressed.body, typed=False,
                                        name=_first_name(update))
    elif pressed.kind in (END_HANDOFF, CLOSE_HANDOFF) and pressed.body.isdigit():
        by = None if pressed.kind == END_HANDOFF else query.from_user.first_name
        await context.services.handoff.end(int(pressed.body), by=by)


async def _show_choice(update: Update) -> None:
    """Replace the keyboard of the message with the button pressed, so it reads as an answer."""
    query = update.callback_query
    assert query is not None
    message = query.message
    markup = getattr(message, "reply_markup", None)
    title = next((b.text for row in (markup.inline_keyboard if markup else ())
                  for b in row if b.callback_data == query.data), None)
    text_html = getattr(message, "text_html", None)
    try:
        if title and text_html:
            await query.edit_message_text(f"{text_html}\n\n» <i>{escape(title)}</i>",
                                          parse_mode="HTML")
        else:
            await query.edit_message_reply_markup(reply_markup=None)
    except BadRequest:  # already tidied, too old to edit, or too long with the choice
        with contextlib.suppress(BadRequest):
            await query.edit_message_reply_markup(reply_markup=None)


async def relay_to_staff(update: Update, context: BotContext) -> None:
    """In a chat with a staff member, the user's messages go to them, not to the assistant."""
    message = update.effective_message
    if message is not None and await context.services.handoff.from_user(message):
        raise ApplicationHandlerStop  # relayed, or the user told it could not be


async def staff_chat(update: Update, context: BotContext) -> None:
    """The staff group: replies to a request are relayed; nothing else there is answered."""
    message = update.effective_message
    if message is not None and update.message is not None:
        await context.services.handoff.from_staff(message)
    raise ApplicationHandlerStop


async def not_text(update: Update, context: BotContext) -> None:
    """Stickers, photos, voice and the like: say what the assistant can read."""
    message = update.effective_message
    if message is None:
        return
    kind = next((k for k in NOT_TEXT_OPENING if getattr(message, k, None)), None)
    await context.services.outbox.say(message.chat_id,
                                      NOT_TEXT_OPENING.get(kind or "", "") + NOT_TEXT)


async def live_location(update: Update, context: BotContext) -> None:
    """A live location moving: its first message was answered as a location; its updates
    (edits of that message) change nothing and get no reply."""


async def edited(update: Update, context: BotContext) -> None:
    """An edited message: the answer to the original stands; ask for a new message."""
    if update.edited_message is not None:
        await context.services.outbox.say(update.edited_message.chat_id, EDITED)


async def group(update: Update, context: BotContext) -> None:
    """Groups: when addressed (a command, a mention, a reply, or being added), point to a
    private chat, where the assistant answers."""
    message = update.effective_message
    if message is None:
        return
    me, said = context.bot, (message.text or message.caption or "")
    replied = message.reply_to_message
    if not (said.startswith("/") or f"@{me.username}".lower() in said.lower()
            or (replied is not None and replied.from_user is not None
                and replied.from_user.id == me.id)
            or any(member.id == me.id for member in message.new_chat_members or ())):
        return
    link = f"https://t.me/{context.bot.username}?start=group"
    await message.reply_text(GROUP, reply_markup=InlineKeyboardMarkup(
        [[InlineKeyboardButton("Chat with me privately", url=link)]]))


async def channel(update: Update, context: BotContext) -> None:
    """A channel post: once per channel per run, say where the assistant can help."""
    chat = update.effective_chat
    if chat is None or context.chat_data is None or context.chat_data.get("explained"):
        return
    context.chat_data["explained"] = True
    await context.bot.send_message(chat.id, CHANNEL.format(
        link=f"https://t.me/{context.bot.username}"))


async def error(update: object, context: BotContext) -> None:
    """Log first (with the traceback), then apologise briefly; never stop the bot."""
    log.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat and \
            update.effective_chat.type == "private":
        try:
            await context.bot.send_message(update.effective_chat.id, ERROR)
        except TelegramError as failure:
            log.error("could not apologise either: %s", type(failure).__name__)


def _first_name(update: Update) -> str | None:
    return update.effective_user.first_name if update.effective_user else None
