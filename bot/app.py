"""The composition root: build the Telegram application and its services in one place, wire the
handlers and jobs, and open and close resources with the Application's lifecycle."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import commands, handlers, review, staff
from bot.acknowledge import Acknowledger
from bot.buttons import ButtonCodec
from bot.chat_locks import ChatLocks, FloodLimit, PerChatProcessor
from bot.context import SERVICES, BotContext, Services
from bot.conversation import Conversation
from bot.db import Database, utcnow
from bot.erasure import Eraser
from bot.handoff import Handoff
from bot.outbox import Outbox
from bot.pending import KeptMessages
from bot.rasa_client import RasaClient
from bot.rate_limiter import RetryingRateLimiter
from bot.reminders import ReminderSender
from bot.render import FLOODED
from bot.retraining import ModelKeeper, Training
from bot.spool import Spool
from bot.tracker import TrackerStore
from bot.turns import TurnRecorder, read_threshold
from npq.retention import purge_personal_data
from npq.settings import Settings
from ops.training_data import known_intents

log = logging.getLogger(__name__)
App = Application[Any, Any, Any, Any, Any, Any]  # as the builder below makes it
PURGE_EVERY = dt.timedelta(days=1)
PURGE_FIRST = dt.timedelta(minutes=5)


def build_application(settings: Settings, rasa: RasaClient | None = None,
                      clock: Callable[[], dt.datetime] = utcnow, *,
                      telegram_backoff_seconds: float = 1.0,
                      training: Training | None = None) -> App:
    """A ready-to-run Application; `rasa`, `clock` and `training` (where the training data and
    models are, and the staff tools) are injectable for tests."""
    if not settings.telegram_bot_token:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    rasa = rasa or RasaClient(settings.rasa_url, timeout=settings.rasa_timeout_seconds,
                              action_server_url=settings.action_server_url,
                              token=settings.rasa_auth_token)
    locks = ChatLocks()
    processor = PerChatProcessor(locks, settings.bot_turn_slots)
    app = (
        Application.builder()
        .token(settings.telegram_bot_token)
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.telegram_api_base_url.replace("/bot", "/file/bot"))
        .context_types(ContextTypes(context=BotContext))
        .rate_limiter(RetryingRateLimiter(backoff_seconds=telegram_backoff_seconds))
        .concurrent_updates(processor)
        .post_init(on_startup)
        .post_shutdown(on_shutdown)
        .build()
    )
    db = Database(settings.database_url)

    async def flooded(chat_id: int) -> None:
        await app.bot.send_message(chat_id, FLOODED)

    processor.flood = FloodLimit(settings.flood_messages, settings.flood_window_seconds, flooded)
    # Real time, not `clock`: a retry_after is Telegram's seconds.
    outbox = Outbox(app.bot, db, locks, backoff_seconds=telegram_backoff_seconds * 2)
    spool = Spool(settings.spool_file, db, clock)
    buttons = ButtonCodec(settings.telegram_bot_token, db)
    handoff = Handoff(app.bot, db, buttons, clock, outbox, staff_chat_id=settings.staff_chat_id,
                      office_hours=settings.office_hours,
                      staff_user_ids=settings.staff_user_ids)
    if settings.staff_chat_id is not None and not settings.staff_user_ids:
        log.warning("STAFF_CHAT_ID is set without STAFF_USER_IDS: nobody can answer requests")
    tracker = TrackerStore(settings.effective_tracker_store_url)
    training = training or Training()
    recorder = TurnRecorder(tracker, db, clock,
                            threshold=read_threshold(training.root / "config.yml"))
    kept = KeptMessages(outbox, db, rasa, locks, clock,
                        give_up_after=dt.timedelta(minutes=settings.pending_give_up_minutes))
    eraser = Eraser(db, rasa, tracker, training.root, clock)
    acknowledger = Acknowledger(app.bot, rasa, after=settings.rasa_ack_seconds)
    processor.on_waiting = acknowledger.waited  # RASA_ACK_SECONDS unanswered: told
    processor.on_caught_up = acknowledger.caught_up  # answered: a later wait is told again
    processor.ack_after = settings.rasa_ack_seconds
    conversation = Conversation(app.bot, rasa, buttons, handoff, kept, eraser=eraser,
                                tracker=tracker, recorder=recorder,
                                patience=settings.rasa_patience_seconds, outbox=outbox,
                                spool=spool, acknowledger=acknowledger)
    reminders = ReminderSender(app.bot, db, buttons, clock, days=settings.reminder_days,
                               from_hour=settings.reminder_hour)
    keeper = ModelKeeper(app.bot, db, training, outbox, rasa_url=settings.rasa_url,
                         tolerance=settings.retrain_tolerance, clock=clock)
    # Attached at build time: post_init does not run when tests drive the application.
    app.bot_data[SERVICES] = Services(settings, rasa, db, buttons, clock, handoff, conversation,
                                      kept, reminders, tracker, training, keeper,
                                      known_intents(training.root), outbox, spool)
    _add_handlers(app, settings)
    _schedule(app, settings)
    return app


def _add_handlers(app: App, settings: Settings) -> None:
    private = filters.ChatType.PRIVATE
    message = filters.UpdateType.MESSAGE
    if settings.staff_chat_id is not None:
        app.add_handler(MessageHandler(filters.Chat(settings.staff_chat_id) & message,
                                       handlers.staff_chat), group=-2)
    app.add_handler(MessageHandler(private & message & ~filters.COMMAND,
                                   handlers.relay_to_staff), group=-1)
    # Staff commands exist for staff users only; everyone else falls through to the ordinary
    # handlers below (an unknown command, a file), and each handler checks again. Commands
    # run from new messages only: an old message edited into /forget is an edit, no command.
    staff_only = private & message & filters.User(user_id=settings.staff_user_ids)
    commanded = private & message
    app.add_handlers([
        CommandHandler("start", commands.start, filters=commanded),
        CommandHandler("help", commands.help_command, filters=commanded),
        CommandHandler(list(commands.JOURNEYS), commands.journey, filters=commanded),
        CommandHandler("done", commands.done, filters=commanded),
        *(CommandHandler(name, staff.only(handler, otherwise=handlers.text), filters=staff_only)
          for name, handler in (("review", review.start), ("stats", staff.stats),
                                ("retrain", staff.retrain_command),
                                ("rollback", staff.rollback_command))),
        MessageHandler(filters.Document.ALL & staff_only & message,
                       staff.only(staff.upload, otherwise=handlers.not_text)),
        MessageHandler(filters.TEXT & private & message, handlers.text),
        MessageHandler(filters.LOCATION & private & message, handlers.location),
        CallbackQueryHandler(handlers.button),
        # a live location's updates arrive as edits of the one location already answered
        MessageHandler(private & filters.UpdateType.EDITED_MESSAGE & filters.LOCATION,
                       handlers.live_location),
        MessageHandler(private & filters.UpdateType.EDITED_MESSAGE, handlers.edited),
        MessageHandler(private & message, handlers.not_text),
        MessageHandler(filters.ChatType.GROUPS & message, handlers.group),
        MessageHandler(filters.UpdateType.CHANNEL_POST, handlers.channel),
    ])
    app.add_error_handler(handlers.error)


def _schedule(app: App, settings: Settings) -> None:
    jobs = app.job_queue
    if jobs is None:
        raise RuntimeError("python-telegram-bot's job-queue extra is missing")
    jobs.run_repeating(_retry_kept, interval=settings.pending_retry_seconds,
                       first=settings.pending_retry_seconds, name="retry kept messages")
    jobs.run_repeating(_drain_outbox, interval=settings.outbox_retry_seconds,
                       first=settings.outbox_retry_seconds, name="outbox")
    jobs.run_repeating(_send_reminders, interval=settings.reminder_check_seconds,
                       first=min(30.0, settings.reminder_check_seconds), name="reminders")
    jobs.run_repeating(purge_messages, interval=PURGE_EVERY, first=PURGE_FIRST,
                       name="purge expired messages")
    jobs.run_repeating(_finish_erasures, interval=settings.pending_retry_seconds,
                       first=settings.pending_retry_seconds, name="finish erasures")


async def _retry_kept(context: BotContext) -> None:
    """Move messages spooled while the database was down into it; answer messages kept while
    Rasa was down; forward requests made while we were away."""
    services = context.services
    if not services.spool.empty and not await services.spool.drain():
        return  # the database is still down
    try:
        await services.kept.retry(services.conversation)
    except SQLAlchemyError as error:
        log.warning("kept messages not retried: %s", type(error).__name__)
        return
    await services.handoff.after_turn()


async def _drain_outbox(context: BotContext) -> None:
    """Send replies Telegram refused for a while (429, 5xx), or left by a stopped bot."""
    await context.services.outbox.drain()


async def _send_reminders(context: BotContext) -> None:
    sent = await context.services.reminders.send_due()
    if sent:
        log.info("sent %d deadline reminder message(s)", sent)


async def _finish_erasures(context: BotContext) -> None:
    """Forget me: retry what could not be erased at once, and tell the person when done."""
    finished = await context.services.conversation.eraser.retry(context.services.conversation.say)
    if finished:
        log.info("finished %d erasure(s) left unfinished", finished)


async def purge_messages(context: BotContext) -> None:
    """Daily: remove every kind of personal data past its retention (npq/retention.py): our
    tables, then the conversations Rasa keeps."""
    services = context.services
    retention = services.settings.retention
    now = services.clock()
    purged = await services.db.run(purge_personal_data, now=now, retention=retention)
    purged["conversation events"] = await services.tracker.purge(now, retention.conversations)
    if any(purged.values()):
        log.info("retention purge: %s", ", ".join(f"{n} {kind}" for kind, n in purged.items()
                                                  if n))


async def on_startup(app: App) -> None:
    """Register the command menus, everyone's and staff's (a failure is logged: the bot works
    without them)."""
    try:
        await commands.register_menu(app.bot)
    except TelegramError as error:
        log.warning("could not register the command menu: %s", type(error).__name__)
    services: Services = app.bot_data[SERVICES]
    await staff.register_menus(app.bot, commands.COMMANDS, services.settings.staff_user_ids)


async def on_shutdown(app: App) -> None:
    services: Services = app.bot_data[SERVICES]
    await services.rasa.aclose()
    services.db.dispose()
    services.tracker.dispose()
