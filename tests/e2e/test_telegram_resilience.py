"""The real bot process, Rasa server and action server, when parts of them stop: the action server
down mid-conversation (an apology, then the answer once it is back) and the whole of `make run`
restarted mid-form (the form, and the buttons sent before, carry on).

These tests stop and start the servers of the session's shared `stack` (tests/e2e/conftest.py:
one Rasa start-up fewer) and leave them running; the tests sharing it run on the same worker,
one at a time. With TEST_REDIS_URL set, Rasa uses the Redis lock store there.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.render import LATE_ANSWER, UNAVAILABLE
from npq.db import make_engine, make_session_factory
from npq.db.models import PendingMessage
from ops.paths import APP_PYTHON, ROOT
from ops.stack import Stack
from tests.support.fake_bot_api import ApiCall, FakeBotAPI
from tests.support.updates import callback_update, text_update

pytestmark = pytest.mark.e2e
REPLY_TIMEOUT = 120.0
ROLE_QUESTION = "What's your role"
AMBITION_QUESTION = "What would you like to do next in your career?"



@pytest.fixture
def own_database(stack_database: Path) -> Path:
    """The shared stack's database (kept messages, and the tracker store beside it)."""
    return stack_database


@pytest.fixture
def own_stack(stack: Stack) -> Stack:
    """The shared stack, which these tests stop and start (and leave running)."""
    return stack


@asynccontextmanager
async def bot_process(fake: FakeBotAPI, stack: Stack, database: Path) -> AsyncIterator[None]:
    """`python -m bot` polling the stand-in, retrying kept messages every second."""
    env = {**os.environ, "TELEGRAM_API_BASE_URL": fake.base_url,
           "TELEGRAM_BOT_TOKEN": fake.token, "RASA_URL": stack.rasa_url,
           "RASA_AUTH_TOKEN": stack.rasa_token,
           "ACTION_SERVER_URL": stack.action_url, "DATABASE_URL": f"sqlite:///{database}",
           "PENDING_RETRY_SECONDS": "1"}
    process = await asyncio.create_subprocess_exec(str(APP_PYTHON), "-m", "bot", cwd=ROOT,
                                                   env=env)
    try:
        await fake.wait_for("getUpdates", after=len(fake.calls), timeout=60)
        yield
    finally:
        process.terminate()
        await process.wait()


async def say(fake: FakeBotAPI, text: str, user_id: int, expect: str) -> ApiCall:
    """Send `text`; the bot's first message to this user containing `expect`."""
    mark = len(fake.calls)
    fake.push_update(text_update(text, user_id=user_id))
    return await fake.wait_for("sendMessage", lambda p: p["chat_id"] == user_id
                               and expect in p["text"], after=mark, timeout=REPLY_TIMEOUT)


async def test_the_action_server_stopped_mid_conversation(own_stack: Stack,
                                                          own_database: Path) -> None:
    user = 5001
    async with FakeBotAPI() as fake, bot_process(fake, own_stack, own_database):
        await say(fake, "Which NPQ should I do?", user, ROLE_QUESTION)
        await asyncio.to_thread(own_stack.stop_server, "actions")
        mark = len(fake.calls)
        # the apology comes while the action server is still down (it is restarted below)
        apology = await say(fake, "I'm a deputy head", user, "Sorry")
        assert apology.params["text"] == UNAVAILABLE
        assert kept(own_database) == [(str(user), "I'm a deputy head")]
        own_stack.start_server("actions")  # from this thread: children die with their parent's
        await asyncio.to_thread(own_stack.wait_ready)
        answer = await fake.wait_for("sendMessage", lambda p: p["chat_id"] == user
                                     and AMBITION_QUESTION in p["text"], after=mark,
                                     timeout=REPLY_TIMEOUT)
        said = [c.params["text"] for c in fake.calls[mark:fake.calls.index(answer) + 1]
                if c.method == "sendMessage"]
        assert said == [UNAVAILABLE, LATE_ANSWER.format(what="“I'm a deputy head”"),
                        answer.params["text"]]


async def test_make_run_restarted_mid_form_carries_on(own_stack: Stack,
                                                      own_database: Path) -> None:
    user = 5002
    async with FakeBotAPI() as fake:
        async with bot_process(fake, own_stack, own_database):
            await say(fake, "Which NPQ should I do?", user, ROLE_QUESTION)
            asked = await say(fake, "I'm a deputy head", user, AMBITION_QUESTION)
        await asyncio.to_thread(own_stack.stop)  # everything `make run` started, then again
        own_stack.start()
        await asyncio.to_thread(own_stack.wait_ready)
        async with bot_process(fake, own_stack, own_database):
            markup = asked.params["reply_markup"]  # a button sent before the restart
            [data] = [b["callback_data"] for row in markup["inline_keyboard"] for b in row
                      if b["text"] == "Becoming a headteacher"]
            mark = len(fake.calls)
            fake.push_update(callback_update(data, user_id=user, reply_markup=markup,
                                             message_text=asked.params["text"]))
            suggestion = await fake.wait_for("sendMessage", lambda p: p["chat_id"] == user
                                             and "suggest" in p["text"], after=mark,
                                             timeout=REPLY_TIMEOUT)
            assert suggestion.params["text"].startswith("I'd suggest NPQH: NPQ for Headship.")
            await say(fake, "thanks!", user, "")  # the conversation goes on as usual
    assert kept(own_database) == []


async def test_forget_me_deletes_the_conversation_from_the_tracker_store(
        own_stack: Stack, own_database: Path) -> None:
    user = 5003
    async with FakeBotAPI() as fake, bot_process(fake, own_stack, own_database):
        await say(fake, "remind me before the NPQH deadline please", user, "remind you")
        await say(fake, "please delete all my data", user, "Shall I go ahead?")
        await say(fake, "yes", user, "Done: our conversation is deleted too")
        await say(fake, "hello", user, "")  # answered once the erasure is over
    tracker = own_database.with_name("rasa-tracker.db")
    with sqlite3.connect(tracker) as db:
        said = [data for (data,) in db.execute(
            "SELECT data FROM events WHERE sender_id = ? AND type_name = 'user'", (str(user),))]
    assert len(said) == 1 and '"text": "hello"' in said[0]


def kept(database: Path) -> list[tuple[str, str]]:
    engine = make_engine(f"sqlite:///{database}")
    with make_session_factory(engine)() as session:
        rows = [(r.chat_id, r.message) for r in session.scalars(select(PendingMessage))]
    engine.dispose()
    return rows
