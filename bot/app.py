"""The composition root: build the Telegram application and its services in one place."""

from __future__ import annotations

from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import handlers
from bot.handlers import BotContext
from bot.rasa_client import RasaClient
from npq.settings import Settings


def build_application(settings: Settings, rasa: RasaClient | None = None) -> Application:  # type: ignore[type-arg]
    """A ready-to-run Application; `rasa` is injectable for tests."""
    if not settings.telegram_bot_token:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    rasa = rasa or RasaClient(settings.rasa_url, timeout=settings.rasa_timeout_seconds)

    async def close_rasa(_: Application) -> None:  # type: ignore[type-arg]
        await rasa.aclose()

    app = (
        Application.builder()
        .token(settings.telegram_bot_token)
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.telegram_api_base_url.replace("/bot", "/file/bot"))
        .arbitrary_callback_data(True)
        .context_types(ContextTypes(context=BotContext))
        .post_shutdown(close_rasa)
        .build()
    )
    app.bot_data["rasa"] = rasa  # attached at build time: post_init does not run in tests
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("start", handlers.start, filters=private))
    app.add_handler(CommandHandler("help", handlers.help_command))
    app.add_handler(MessageHandler(filters.COMMAND & private, handlers.unknown_command))
    app.add_handler(MessageHandler(filters.TEXT & private & filters.UpdateType.MESSAGE,
                                   handlers.text))
    app.add_handler(MessageHandler(filters.LOCATION & private & filters.UpdateType.MESSAGE,
                                   handlers.location))
    app.add_handler(CallbackQueryHandler(handlers.button))
    app.add_handler(MessageHandler(~filters.COMMAND & private, handlers.not_text))
    app.add_error_handler(handlers.error)
    return app
