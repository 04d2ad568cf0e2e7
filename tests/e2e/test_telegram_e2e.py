"""The whole stack: stand-in Bot API <- bot process -> Rasa server (trained model) -> action
server -> seeded database."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.render import STILL_WORKING, WELCOME_BACK
from npq.db import make_engine, make_session_factory
from npq.db.models import MessageLog
from ops.paths import APP_PYTHON, ROOT
from ops.stack import Stack
from tests.support.fake_bot_api import FakeBotAPI
from tests.support.updates import DEFAULT_USER_ID, location_update, text_update

pytestmark = pytest.mark.e2e
REPLY_TIMEOUT = 120.0


def answered(params: dict[str, object]) -> bool:
    """Not the apology sent when Rasa takes longer than RASA_PATIENCE_SECONDS."""
    return params["text"] != STILL_WORKING


@pytest.fixture
async def bot(stack: Stack, stack_database: Path) -> AsyncIterator[FakeBotAPI]:
    """The real bot process (`python -m bot`) polling the stand-in Bot API, over the stack's
    database (kept messages, button payloads and handoffs live there too)."""
    async with FakeBotAPI() as fake:
        env = {**os.environ, "TELEGRAM_API_BASE_URL": fake.base_url,
               "TELEGRAM_BOT_TOKEN": fake.token, "RASA_URL": stack.rasa_url,
               "RASA_AUTH_TOKEN": stack.rasa_token,
               "ACTION_SERVER_URL": stack.action_url,
               "DATABASE_URL": f"sqlite:///{stack_database}"}
        process = await asyncio.create_subprocess_exec(str(APP_PYTHON), "-m", "bot", cwd=ROOT,
                                                       env=env)
        try:
            await fake.wait_for("getUpdates", timeout=60)
            yield fake
        finally:
            process.terminate()
            await process.wait()


async def test_hub_near_keighley_names_the_nearest_seeded_hub(
    bot: FakeBotAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    bot.push_update(text_update("Is there a hub near Keighley?"))
    reply = await bot.wait_for("sendMessage", answered, timeout=REPLY_TIMEOUT)
    latency = time.monotonic() - started
    assert reply.params["chat_id"] == DEFAULT_USER_ID
    text = reply.params["text"]
    assert text.startswith("The nearest hubs to Keighley:"), text
    assert "1. Keighley NPQ Hub, Keighley (" in text
    assert "2. Bradford NPQ Hub" in text
    with capsys.disabled():
        print(f"\n[e2e] reply latency for 'Is there a hub near Keighley?': {latency:.2f} s",
              file=sys.stderr)


async def test_a_shared_location_and_a_programme_question(bot: FakeBotAPI) -> None:
    bot.push_update(location_update(53.8679, -1.9066))
    reply = await bot.wait_for("sendMessage", answered, timeout=REPLY_TIMEOUT)
    assert "1. Keighley NPQ Hub" in reply.params["text"]
    mark = len(bot.calls)
    bot.push_update(text_update("what does the headship npq involve?"))
    reply = await bot.wait_for("sendMessage", answered, timeout=REPLY_TIMEOUT, after=mark)
    assert reply.params["text"].startswith("NPQH: ")


async def test_start_greets_a_newcomer_then_welcomes_them_back(bot: FakeBotAPI) -> None:
    user = 4343
    bot.push_update(text_update("/start", user_id=user, first_name="Priya"))
    greeting = await bot.wait_for("sendMessage", lambda p: p["chat_id"] == user and answered(p),
                                  timeout=REPLY_TIMEOUT)
    assert greeting.params["text"].startswith("Hello! I'm the NPQ assistant.")
    mark = len(bot.calls)
    bot.push_update(text_update("/start", user_id=user, first_name="Priya"))
    again = await bot.wait_for("sendMessage", lambda p: p["chat_id"] == user, after=mark,
                               timeout=REPLY_TIMEOUT)
    assert again.params["text"] == WELCOME_BACK.format(name="Priya")


async def test_an_emoji_and_injected_markup_are_answered_plainly_and_logged(
        bot: FakeBotAPI, stack_database: Path) -> None:
    """What a user sees on Telegram for a lone emoji (it read as "yes" before) and for HTML and
    Markdown typed at the assistant: a friendly answer, sent as plain text (no parse mode, so
    nothing typed can become markup), and the turn logged for review with the engine's reading."""
    mark = len(bot.calls)
    bot.push_update(text_update("🫠"))
    reply = await bot.wait_for("sendMessage", answered, timeout=REPLY_TIMEOUT, after=mark)
    assert reply.params["text"].startswith("What would you like to know? I can only read words")
    assert "parse_mode" not in reply.params
    injected = "<b>hi</b> **there** [x](http://evil.example) <script>alert(1)</script>"
    mark = len(bot.calls)
    bot.push_update(text_update(injected))
    reply = await bot.wait_for("sendMessage", answered, timeout=REPLY_TIMEOUT, after=mark)
    assert "parse_mode" not in reply.params and "<b>" not in reply.params["text"]
    engine = make_engine(f"sqlite:///{stack_database}")
    try:
        with make_session_factory(engine)() as session:
            logged = {row.text: (row.intent, row.confidence, row.needs_review)
                      for row in session.scalars(select(MessageLog).where(
                          MessageLog.chat_id == str(DEFAULT_USER_ID)))}
    finally:
        engine.dispose()
    assert logged["🫠"] == ("out_of_scope", 1.0, True)  # out of scope: queued for review
    assert logged[injected][0] is not None
