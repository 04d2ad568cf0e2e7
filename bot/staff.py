"""Staff on Telegram: who they are, their command menu, /stats and catalogue files they send.

Staff are the Telegram user ids in STAFF_USER_IDS, in a private chat with the bot. For everyone
else the staff commands do not exist: the handlers are registered for staff users only, and each
checks again (`only`), so anyone else gets exactly what an unknown command or a file gets. The
menu with the staff commands is registered for staff chats only (BotCommandScopeChat), which
hides them; it protects nothing on its own.

    /review     label the messages the assistant misunderstood (bot/review.py)
    /retrain    train, gate and put in service a new model (bot/retraining.py does it)
    /rollback   put the previous model back (bot/retraining.py does it)
    /stats      the report and its chart (npq.stats)
    a file      hubs.csv, cohorts.csv... validated and imported all or nothing (npq.uploads)
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine, Iterable
from functools import wraps
from typing import Any

from telegram import BotCommand, BotCommandScopeChat, Update
from telegram.error import TelegramError
from telegram.ext import ExtBot

from bot.context import BotContext
from npq.stats import Stats, chart_png, collect_stats, format_stats
from npq.uploads import MAX_UPLOAD_BYTES, UploadResult, format_upload, import_upload

log = logging.getLogger(__name__)
Handler = Callable[[Update, BotContext], Coroutine[Any, Any, None]]
STAFF_COMMANDS = (
    BotCommand("review", "Staff: label misunderstood messages"),
    BotCommand("retrain", "Staff: train and promote a new model"),
    BotCommand("rollback", "Staff: go back to the previous model"),
    BotCommand("stats", "Staff: usage report and chart"),
)
STAFF_HELP = ("\n\nStaff: /review label what I misunderstood · /retrain train and promote a "
              "model · /rollback the previous model · /stats the report. Send hubs.csv, "
              "cohorts.csv or another catalogue file to update the programme data.")
STATS_DAYS = 30
_CHART = threading.Lock()  # matplotlib's pyplot keeps global state: one chart at a time


def is_staff(update: Update, staff_ids: frozenset[int]) -> bool:
    """A staff member, in their private chat with the bot."""
    user, chat = update.effective_user, update.effective_chat
    return (user is not None and chat is not None and chat.type == "private"
            and user.id in staff_ids)


def staff_id(update: Update) -> str:
    """How a staff member is recorded (labels, promotions): their id, then their name."""
    user = update.effective_user
    if user is None:
        return "telegram:unknown"
    return f"telegram:{user.id} {user.first_name}"[:64]


def only(handler: Handler, *, otherwise: Handler) -> Handler:
    """`handler` for staff; for anyone else what `otherwise` (the ordinary handler) does."""
    @wraps(handler)
    async def guarded(update: Update, context: BotContext) -> None:
        if is_staff(update, context.services.settings.staff_user_ids):
            await handler(update, context)
        else:
            await otherwise(update, context)
    return guarded


async def register_menus(bot: ExtBot[Any], commands: Iterable[BotCommand],
                         staff_ids: Iterable[int]) -> None:
    """The menu with the staff commands, in each staff member's chat only. A staff member who
    has not started the bot yet has no chat: logged, and the others still get theirs."""
    menu = [*commands, *STAFF_COMMANDS]
    for user_id in sorted(staff_ids):
        try:
            await bot.set_my_commands(menu, scope=BotCommandScopeChat(user_id))
        except TelegramError as error:
            log.warning("no staff menu for user %s (%s): have they started the bot?", user_id,
                        type(error).__name__)


async def stats(update: Update, context: BotContext) -> None:
    """/stats: the report for the last 30 days, then its chart."""
    chat = update.effective_chat
    if chat is None:
        return
    services = context.services
    figures: Stats = await services.db.run(collect_stats, now=services.clock(),
                                           days=STATS_DAYS)
    await context.bot.send_message(chat.id, format_stats(figures))
    png = await asyncio.to_thread(_chart, figures)
    await context.bot.send_photo(chat.id, photo=png, filename="stats.png",
                                 caption=f"Messages per day and top intents, "
                                         f"{figures.first_day:%d %b} to {figures.last_day:%d %b}")


def _chart(figures: Stats) -> bytes:
    with _CHART:
        return chart_png(figures)


async def retrain_command(update: Update, context: BotContext) -> None:
    """/retrain: train a candidate, gate it, put it in service if it is not worse."""
    _begin(update, context, "retrain")


async def rollback_command(update: Update, context: BotContext) -> None:
    """/rollback: put the model in service before the last promotion back."""
    _begin(update, context, "rollback")


def _begin(update: Update, context: BotContext, what: str) -> None:
    chat, user = update.effective_chat, update.effective_user
    if chat is None:
        return
    name = user.first_name if user else "staff"
    context.application.create_task(
        context.services.keeper.run(chat.id, what, staff=staff_id(update), name=name),
        update=update)


async def upload(update: Update, context: BotContext) -> None:
    """A catalogue file: validated and imported all or nothing, or the list of what to fix."""
    message = update.effective_message
    document = message.document if message else None
    if message is None or document is None:
        return
    name = document.file_name or ""
    if document.file_size and document.file_size > MAX_UPLOAD_BYTES:
        result = UploadResult(name, problems=[f"{name} is {document.file_size // 1024} KB; the "
                                              f"limit is {MAX_UPLOAD_BYTES // 1024} KB."])
    else:
        data = bytes(await (await document.get_file()).download_as_bytearray())
        result = await context.services.db.run(import_upload, name=name, data=data)
        log.info("catalogue upload %s by %s: %s", result.name, staff_id(update),
                 "imported" if result.ok else f"{len(result.problems)} problem(s)")
    # what was imported, or what to fix: through the outbox, so a 429 only delays it
    await context.services.outbox.say(message.chat_id, format_upload(result))
