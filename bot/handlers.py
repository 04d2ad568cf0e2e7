"""Telegram handlers: one short coroutine per kind of update."""

from __future__ import annotations

import logging
from typing import cast

from telegram import Update
from telegram.constants import ChatAction
from telegram.error import BadRequest
from telegram.ext import CallbackContext, ExtBot, InvalidCallbackData

from bot.rasa_client import (
    RasaButton,
    RasaClient,
    RasaReply,
    RasaUnavailable,
    is_command,
    wants_erasure,
)
from bot.render import (
    EXPIRED_BUTTON,
    HELP_TEXT,
    NO_ANSWER,
    NOT_TEXT,
    UNAVAILABLE,
    UNKNOWN_COMMAND,
    inline_keyboard,
    location_payload,
    sender_id,
)

log = logging.getLogger(__name__)


class BotContext(CallbackContext[ExtBot[None], dict, dict, dict]):  # type: ignore[type-arg]
    """Handlers' context with typed access to the services built at start-up."""

    @property
    def rasa(self) -> RasaClient:
        return cast(RasaClient, self.bot_data["rasa"])


async def start(update: Update, context: BotContext) -> None:
    """/start: greet through Rasa, so the greeting and its buttons live in domain.yml."""
    await _ask(update, context, "/greet")


async def help_command(update: Update, context: BotContext) -> None:
    """/help: what the assistant can do."""
    if update.effective_message:
        await update.effective_message.reply_text(HELP_TEXT)


async def unknown_command(update: Update, context: BotContext) -> None:
    """Any other text starting with '/': never forwarded to Rasa (it would force an intent)."""
    if update.effective_message:
        await update.effective_message.reply_text(UNKNOWN_COMMAND)


async def text(update: Update, context: BotContext) -> None:
    """A typed message: ask Rasa and send its replies."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    if is_command(message.text):
        await message.reply_text(UNKNOWN_COMMAND)
        return
    await _ask(update, context, message.text, typed=True)


async def location(update: Update, context: BotContext) -> None:
    """A shared location: the nearest hubs to it."""
    message = update.effective_message
    if message is None or message.location is None:
        return
    await _ask(update, context, location_payload(message.location.latitude,
                                                 message.location.longitude))


async def button(update: Update, context: BotContext) -> None:
    """An inline button: acknowledge it, tidy the keyboard, send its payload to Rasa."""
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    if query.message is not None:
        try:
            await query.edit_message_reply_markup(reply_markup=None)
        except BadRequest:  # already tidied, or too old to edit: nothing to do
            pass
    if isinstance(query.data, InvalidCallbackData) or not isinstance(query.data, RasaButton):
        if update.effective_chat:
            await context.bot.send_message(update.effective_chat.id, EXPIRED_BUTTON)
        return
    await _ask(update, context, query.data.payload)


async def not_text(update: Update, context: BotContext) -> None:
    """Stickers, photos, voice and the like: say what the assistant can read."""
    if update.effective_message:
        await update.effective_message.reply_text(NOT_TEXT)


async def error(update: object, context: BotContext) -> None:
    """Log first (with the traceback), then apologise briefly; never stop the bot."""
    log.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat:
        await context.bot.send_message(update.effective_chat.id, UNAVAILABLE)


async def _ask(update: Update, context: BotContext, message: str, *, typed: bool = False) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    await context.bot.send_chat_action(chat.id, ChatAction.TYPING)
    sender = sender_id(chat.id)
    try:
        replies = await (context.rasa.send_text(sender, message) if typed
                         else context.rasa.send_payload(sender, message))
    except RasaUnavailable as failure:
        log.warning("Rasa unavailable: %s", failure)
        await context.bot.send_message(chat.id, UNAVAILABLE)
        return
    await _send_replies(context, chat.id, replies)
    if wants_erasure(replies):
        try:
            await context.rasa.erase_conversation(sender)
        except RasaUnavailable as failure:
            log.error("could not erase a conversation Rasa keeps: %s", failure)


async def _send_replies(context: BotContext, chat_id: int, replies: list[RasaReply]) -> None:
    replies = [r for r in replies if r.text or r.buttons]
    if not replies:  # never leave a message unanswered
        log.warning("Rasa sent no reply; see the Rasa and action server logs")
        await context.bot.send_message(chat_id, NO_ANSWER)
    for reply in replies:
        if reply.text:
            await context.bot.send_message(chat_id, reply.text,
                                           reply_markup=inline_keyboard(reply.buttons))
        elif reply.buttons:
            await context.bot.send_message(chat_id, "Choose one:",
                                           reply_markup=inline_keyboard(reply.buttons))
