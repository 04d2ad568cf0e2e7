"""Webhook mode: a small tornado server (tornado ships with PTB's webhooks extra) in front of
the Application, as in PTB's custom webhook examples.

    POST <path of WEBHOOK_URL>   updates from Telegram; refused (403) without the secret token
    GET  /healthz                200 while the bot runs (503 while it stops), with Rasa's state

Telegram sends the secret given to setWebhook in the X-Telegram-Bot-Api-Secret-Token header on
every request; anything else on the internet could post fake updates, so a request without it
never reaches the handlers. WEBHOOK_SECRET sets it; by default it is derived from the bot token,
so every replica and every restart agrees on it without configuration.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
from typing import Any

from telegram import Update
from telegram.ext import Application
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application as WebApplication
from tornado.web import RequestHandler

from bot.rasa_client import RasaClient
from npq.settings import Settings

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1_000_000
ALLOWED_UPDATES = ("message", "edited_message", "callback_query", "channel_post")


def webhook_secret(settings: Settings) -> str:
    """WEBHOOK_SECRET, or a stable secret derived from the token (Telegram allows A-Z, a-z,
    0-9, _ and -, up to 256 characters)."""
    if settings.webhook_secret:
        return settings.webhook_secret
    token = (settings.telegram_bot_token or "").encode()
    return hmac.new(token, b"npq-webhook-secret", hashlib.sha256).hexdigest()[:48]


class _Updates(RequestHandler):
    def initialize(self, app: Application, secret: str) -> None:  # type: ignore[type-arg]
        self.app, self.secret = app, secret

    async def post(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            log.warning("webhook request without the right secret token refused")
            self.set_status(403)
            self.finish({"ok": False})
            return
        try:
            update = Update.de_json(json.loads(self.request.body), self.app.bot)
        except (ValueError, TypeError, KeyError):
            self.set_status(400)
            self.finish({"ok": False})
            return
        await self.app.update_queue.put(update)
        self.finish({"ok": True})


class _Health(RequestHandler):
    def initialize(self, app: Application,  # type: ignore[type-arg]
                   rasa: RasaClient | None) -> None:
        self.app, self.rasa = app, rasa

    async def get(self) -> None:
        body: dict[str, Any] = {"status": "ok" if self.app.running else "stopping"}
        if self.rasa is not None:
            body["rasa"] = "up" if await self.rasa.healthy() else "down"
        self.set_status(200 if self.app.running else 503)
        self.finish(body)


class WebhookServer:
    """Serves the webhook and the health check; `port` 0 picks a free port (tests)."""

    def __init__(self, app: Application, *, path: str, secret: str,  # type: ignore[type-arg]
                 listen: str, port: int, rasa: RasaClient | None = None) -> None:
        self._web = WebApplication([
            (re.escape(path), _Updates, {"app": app, "secret": secret}),
            (r"/healthz", _Health, {"app": app, "rasa": rasa}),
        ], log_function=lambda handler: None)  # access logs would show nothing useful
        self._listen, self._port = listen, port
        self._server: HTTPServer | None = None

    async def start(self) -> None:
        sockets = bind_sockets(self._port, self._listen)
        self._port = sockets[0].getsockname()[1]
        self._server = HTTPServer(self._web, xheaders=True, max_body_size=MAX_BODY)
        self._server.add_sockets(sockets)
        log.info("webhook server listening on %s:%s", self._listen, self._port)

    @property
    def port(self) -> int:
        return self._port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
            self._server = None


async def serve(app: Application, settings: Settings,  # type: ignore[type-arg]
                stop: asyncio.Event, rasa: RasaClient | None = None) -> None:
    """Run in webhook mode until `stop` is set (the caller sets it on SIGINT/SIGTERM), with the
    Application's post_init and post_shutdown hooks, as run_webhook would."""
    secret = webhook_secret(settings)
    server = WebhookServer(app, path=settings.webhook_path, secret=secret,
                           listen=settings.webhook_listen, port=settings.webhook_port, rasa=rasa)
    async with app:
        if app.post_init:
            await app.post_init(app)
        await app.start()
        await server.start()
        try:  # only once we listen: Telegram starts posting as soon as it is set
            await app.bot.set_webhook(settings.webhook_url or "", secret_token=secret,
                                      allowed_updates=list(ALLOWED_UPDATES))
            await stop.wait()
        finally:
            # Leave the webhook set: Telegram keeps updates while we are away (a restart or
            # another replica picks them up); polling mode deletes it when it starts.
            await server.stop()
            await app.stop()
    if app.post_shutdown:  # after shutdown, as run_webhook does
        await app.post_shutdown(app)
