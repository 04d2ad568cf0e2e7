"""Run the front end.

    python -m bot              serve Telegram (needs TELEGRAM_BOT_TOKEN): long polling, or a
                               webhook when WEBHOOK_URL is set
    python -m bot --terminal   chat with the assistant in this terminal (no token needed)
    --wait-for-rasa SECONDS    first wait (at most that long) for Rasa and the action server to
                               answer: `make run` starts the bot while Rasa loads its model

Both need the Rasa server at RASA_URL (make run starts everything). SIGINT or SIGTERM stops the
bot cleanly in either mode.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from bot.app import build_application
from bot.context import SERVICES
from bot.rasa_client import RasaClient
from bot.terminal import chat
from bot.webhook import ALLOWED_UPDATES, serve
from npq.settings import Settings


def configure_logging(level: str) -> None:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=level)
    # At INFO httpx logs every request URL, and Telegram's URLs contain the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per job run at INFO


async def _serve_webhook(settings: Settings) -> None:
    app = build_application(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await serve(app, settings, stop, rasa=app.bot_data[SERVICES].rasa)


def wait_for_rasa(settings: Settings, seconds: float) -> bool:
    """Whether Rasa (its model loaded) and the action server answered within `seconds`."""
    async def wait() -> bool:
        rasa = RasaClient(settings.rasa_url, action_server_url=settings.action_server_url)
        try:
            return await rasa.wait_until_healthy(seconds)
        finally:
            await rasa.aclose()

    return asyncio.run(wait())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--terminal", action="store_true", help="chat in this terminal")
    parser.add_argument("--wait-for-rasa", type=float, default=0.0, metavar="SECONDS",
                        help="wait for Rasa to answer first, at most this long")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if args.wait_for_rasa > 0 and not wait_for_rasa(settings, args.wait_for_rasa):
        print("Rasa did not answer: messages are kept until it does", file=sys.stderr)
    if args.terminal:
        configure_logging("WARNING")
        return asyncio.run(chat(settings))
    configure_logging(settings.log_level)
    if not settings.telegram_bot_token:
        print("TELEGRAM_BOT_TOKEN is not set: get one from @BotFather, or use --terminal.",
              file=sys.stderr)
        return 2
    if settings.webhook_url:
        asyncio.run(_serve_webhook(settings))
    else:
        build_application(settings).run_polling(allowed_updates=list(ALLOWED_UPDATES))
    return 0


if __name__ == "__main__":
    sys.exit(main())
