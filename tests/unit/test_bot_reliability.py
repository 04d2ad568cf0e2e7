"""When things fail: Rasa or the action server down or slow (an apology, the message kept in the
database and answered later, even by a restarted bot), Telegram's 429 and 5xx answers retried,
errors logged with their traceback, and the webhook refusing requests without its secret."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.app import build_application
from bot.render import ERROR, GIVE_UP, LATE_ANSWER, STILL_WORKING, UNAVAILABLE
from bot.webhook import SECRET_HEADER, WebhookServer, serve, webhook_secret
from npq.db.models import PendingMessage
from tests.support.bot_harness import FakeRasa, Harness, running_bot, settings_for
from tests.support.fake_bot_api import FakeBotAPI
from tests.support.updates import DEFAULT_USER_ID, text_update

FAST_RETRY = {"pending_retry_seconds": 0.2}


def kept(bot: Harness) -> list[tuple[str, str]]:
    with bot.session() as session:
        return [(row.chat_id, row.message) for row in session.scalars(select(PendingMessage))]


def echo(sender: str, message: str) -> list[dict[str, Any]]:
    return [{"text": f"answer to {message}"}]


@pytest.mark.parametrize("failure", ["refused", "error", "timeout"])
async def test_rasa_down_apology_then_the_answer_once_it_is_back(database: str,
                                                                 failure: str) -> None:
    rasa = FakeRasa(answer=echo, down=failure == "refused",
                    failing=None if failure == "refused" else failure)
    async with running_bot(database, rasa=rasa, **FAST_RETRY) as bot:
        started = asyncio.get_running_loop().time()
        apology = await bot.say("hub near leeds")
        assert apology.params["text"] == UNAVAILABLE
        assert asyncio.get_running_loop().time() - started < 3
        assert kept(bot) == [(str(DEFAULT_USER_ID), "hub near leeds")]
        mark = bot.mark()
        rasa.down, rasa.failing = False, None
        answer = await bot.fake.wait_for("sendMessage", lambda p: p["text"].startswith("answer"),
                                         after=mark)
        assert [p["text"] for p in bot.sent(mark)] == [
            LATE_ANSWER.format(what="“hub near leeds”"), "answer to hub near leeds"]
        assert answer.params["chat_id"] == DEFAULT_USER_ID
        await bot.chat_idle()
        assert kept(bot) == []


async def test_messages_kept_while_down_are_answered_in_order(database: str) -> None:
    rasa = FakeRasa(answer=echo, down=True)
    async with running_bot(database, rasa=rasa) as bot:
        await bot.say("first")
        await bot.say("second")
        assert [m for _, m in kept(bot)] == ["first", "second"]
        rasa.down = False
        mark = bot.mark()
        bot.fake.push_update(text_update("third"))  # answered after the two before it
        await bot.fake.wait_for("sendMessage", lambda p: p["text"] == "answer to third",
                                after=mark)
        assert [p["text"] for p in bot.sent(mark)] == [
            LATE_ANSWER.format(what="“first”"), "answer to first",
            LATE_ANSWER.format(what="“second”"), "answer to second", "answer to third"]
        await bot.chat_idle()
        assert kept(bot) == []


async def test_a_kept_message_survives_a_restart_of_the_bot(database: str) -> None:
    async with running_bot(database, rasa=FakeRasa(down=True)) as bot:
        assert (await bot.say("is NPQH funded?")).params["text"] == UNAVAILABLE
        fake_api = bot.fake
    async with running_bot(database, rasa=FakeRasa(answer=echo), **FAST_RETRY) as bot:
        call = await bot.fake.wait_for("sendMessage", lambda p: p["text"].startswith("answer"))
        assert call.params == {**call.params, "chat_id": DEFAULT_USER_ID,
                               "text": "answer to is NPQH funded?"}
        assert bot.rasa.received == [{"sender": str(DEFAULT_USER_ID),
                                      "message": "is NPQH funded?"}]
        await bot.chat_idle()
        assert kept(bot) == [] and fake_api is not bot.fake


async def test_the_action_server_down_is_told_from_a_failing_action(database: str) -> None:
    rasa = FakeRasa(answer=echo, actions_down=True)
    async with running_bot(database, rasa=rasa, **FAST_RETRY) as bot:
        assert (await bot.say("what does NPQEL involve?")).params["text"] == UNAVAILABLE
        mark = bot.mark()
        rasa.actions_down = False
        await bot.fake.wait_for("sendMessage", lambda p: p["text"].startswith("answer"),
                                after=mark)
        assert bot.rasa.received[-1]["message"] == "what does NPQEL involve?"
        await bot.chat_idle()
        assert kept(bot) == []


async def test_slow_rasa_gets_an_apology_within_the_patience_then_the_answer(
        database: str) -> None:
    gate = asyncio.Event()
    rasa = FakeRasa(answer=echo, gate=gate)
    async with running_bot(database, rasa=rasa, rasa_patience_seconds=0.2) as bot:
        mark = bot.mark()
        bot.fake.push_update(text_update("which NPQ suits a SENCO?"))
        sorry = await bot.fake.wait_for("sendMessage", after=mark)
        assert sorry.params["text"] == STILL_WORKING
        gate.set()
        await bot.fake.wait_for("sendMessage", lambda p: p["text"].startswith("answer"),
                                after=mark)
        assert [p["text"] for p in bot.sent(mark)] == [
            STILL_WORKING, "answer to which NPQ suits a SENCO?"]
        await bot.chat_idle()
        assert kept(bot) == []


async def test_kept_too_long_the_user_is_told_to_ask_again(database: str) -> None:
    rasa = FakeRasa(down=True)
    async with running_bot(database, rasa=rasa, pending_give_up_minutes=30,
                           **FAST_RETRY) as bot:
        await bot.say("hub near york")
        mark = bot.mark()
        bot.clock.now += dt.timedelta(minutes=31)
        call = await bot.fake.wait_for("sendMessage", after=mark)
        assert call.params["text"] == GIVE_UP.format(what="“hub near york”")
        assert kept(bot) == []


@pytest.mark.parametrize(("code", "retry_after"), [(429, 1), (502, None), (500, None)])
async def test_telegram_refusals_and_server_errors_are_retried(
        database: str, code: int, retry_after: int | None) -> None:
    async with running_bot(database) as bot:
        bot.fake.fail_next("sendMessage", error_code=code, description="Too Many Requests"
                           if code == 429 else "Bad Gateway", retry_after=retry_after, times=2)
        after = bot.mark()
        bot.fake.push_update(text_update("hub near leeds"))
        attempts = []
        for _ in range(3):
            attempts.append(await bot.fake.wait_for("sendMessage", after=after, timeout=15))
            after = bot.index(attempts[-1]) + 1
        assert [c.error_code for c in attempts] == [code, code, None]
        assert attempts[-1].params["text"] == "The nearest hubs to Keighley: ..."


async def test_an_unexpected_error_is_logged_with_its_traceback_and_apologised_for(
        database: str, caplog: pytest.LogCaptureFixture) -> None:
    def broken(sender: str, message: str) -> list[dict[str, Any]]:
        raise RuntimeError("a bug in the fake")

    async with running_bot(database, rasa=FakeRasa(answer=broken)) as bot:
        with caplog.at_level(logging.ERROR):
            call = await bot.say("hello")
        assert call.params["text"] == ERROR
    [record] = [r for r in caplog.records if r.message == "error while handling an update"]
    assert record.exc_info and "a bug in the fake" in str(record.exc_info[1])
    assert "hello" not in caplog.text  # message text is logged at DEBUG only


async def test_the_webhook_refuses_requests_without_the_secret(database: str) -> None:
    async with running_bot(database, poll=False) as bot:
        secret = webhook_secret(bot.services.settings)
        server = WebhookServer(bot.app, path="/telegram", secret=secret, listen="127.0.0.1",
                               port=0)
        await server.start()
        url = f"http://127.0.0.1:{server.port}"
        update = {"update_id": 7, **text_update("hub near leeds")}
        try:
            async with httpx.AsyncClient(base_url=url) as http:
                missing = await http.post("/telegram", json=update)
                wrong = await http.post("/telegram", json=update,
                                        headers={SECRET_HEADER: secret[:-1] + "x"})
                assert (missing.status_code, wrong.status_code) == (403, 403)
                health = await http.get("/healthz")
                assert health.status_code == 200 and health.json()["status"] == "ok"
                assert bot.rasa.received == [] and bot.sent() == []
                right = await http.post("/telegram", json=update,
                                        headers={SECRET_HEADER: secret})
                assert right.status_code == 200
                call = await bot.fake.wait_for("sendMessage")
                assert call.params["text"] == "The nearest hubs to Keighley: ..."
                assert bot.rasa.received == [{"sender": str(DEFAULT_USER_ID),
                                              "message": "hub near leeds"}]
                await bot.handled(7)
                assert 7 in bot.finished
        finally:
            await server.stop()


async def test_webhook_mode_registers_the_secret_and_stops_cleanly(database: str) -> None:
    async with FakeBotAPI() as fake:
        settings = settings_for(fake, database, webhook_url="https://bot.example.org/tg/hook",
                                webhook_port=0)
        app = build_application(settings, rasa=FakeRasa().client())
        stop = asyncio.Event()
        running = asyncio.create_task(serve(app, settings, stop))
        call = await fake.wait_for("setWebhook")
        assert call.params["url"] == "https://bot.example.org/tg/hook"
        assert call.params["secret_token"] == webhook_secret(settings)
        assert set(call.params["allowed_updates"]) >= {"message", "callback_query"}
        await fake.wait_for("setMyCommands")
        stop.set()
        await asyncio.wait_for(running, timeout=30)
        assert not app.running
        assert fake.webhook["url"] == "https://bot.example.org/tg/hook"  # left for a restart


async def test_a_kept_message_tried_too_often_is_given_up(database: str) -> None:
    rasa = FakeRasa(answer=echo, actions_down=True)
    async with running_bot(database, rasa=rasa) as bot:
        for text in ("one", "two", "three"):
            assert (await bot.say(text)).params["text"] == UNAVAILABLE
        mark = bot.mark()
        bot.fake.push_update(text_update("four"))  # "one" has now been tried three times
        await bot.fake.wait_for("sendMessage", lambda p: p["text"] == UNAVAILABLE, after=mark)
        assert [p["text"] for p in bot.sent(mark)] == [GIVE_UP.format(what="“one”"),
                                                       UNAVAILABLE]
        await bot.chat_idle()
        assert [m for _, m in kept(bot)] == ["two", "three", "four"]
