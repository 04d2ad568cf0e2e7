"""Overload without silence: when the front before Rasa expects a turn to wait, the user is told
once that the answer is coming, then gets every answer once, in order (bot/acknowledge.py);
through the real front (ops/rasa_front.py) with a stand-in Rasa server, a chat queued behind
another is told, the chat being served is not."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot import acknowledge
from bot.rasa_client import RasaClient
from bot.render import BUSY, STILL_WORKING
from ops.ports import free_port
from ops.rasa_front import FIRST_TURN_SECONDS, RasaFront
from tests.support.bot_harness import FakeRasa, running_bot
from tests.support.rasa_servers import Server, until
from tests.support.updates import DEFAULT_USER_ID, text_update

OTHER_USER_ID = DEFAULT_USER_ID + 1


def echo(sender: str, message: str) -> list[dict[str, Any]]:
    return [{"text": f"answer to {message}"}]


async def test_a_long_wait_is_acknowledged_once_then_every_answer_comes_in_order(
        database: str) -> None:
    gate = asyncio.Event()
    rasa = FakeRasa(answer=echo, gate=gate, expected_wait=12.0)
    # patience far below the wait: the user was told, so no apology comes on top
    async with running_bot(database, rasa=rasa, rasa_ack_seconds=2.0,
                           rasa_patience_seconds=0.05) as bot:
        mark = bot.mark()
        bot.fake.push_update(text_update("hub near leeds"))
        told = await bot.fake.wait_for("sendMessage", after=mark)
        assert told.params["text"] == BUSY
        bot.fake.push_update(text_update("is NPQH funded?"))
        bot.fake.push_update(text_update("when is the deadline?"))
        gate.set()
        await bot.fake.wait_for("sendMessage",
                                lambda p: p["text"] == "answer to when is the deadline?",
                                after=mark)
        await bot.chat_idle()
        assert [p["text"] for p in bot.sent(mark)] == [
            BUSY, "answer to hub near leeds", "answer to is NPQH funded?",
            "answer to when is the deadline?"]
        assert [r["message"] for r in rasa.received] == [
            "hub near leeds", "is NPQH funded?", "when is the deadline?"]


async def test_once_answered_a_chat_is_told_again_at_its_next_long_wait(database: str) -> None:
    gate = asyncio.Event()
    rasa = FakeRasa(answer=echo, gate=gate, expected_wait=12.0)  # the rush goes on
    async with running_bot(database, rasa=rasa, rasa_ack_seconds=2.0) as bot:
        mark = bot.mark()
        bot.fake.push_update(text_update("hub near leeds"))
        try:
            told = await bot.fake.wait_for("sendMessage", after=mark, timeout=10)
        finally:
            gate.set()
        assert told.params["text"] == BUSY
        await bot.fake.wait_for("sendMessage", lambda p: p["text"] == "answer to hub near leeds",
                                after=mark)
        await bot.chat_idle()
        await bot.say("is NPQH funded?")
        await bot.chat_idle()
        assert [p["text"] for p in bot.sent(mark)] == [
            BUSY, "answer to hub near leeds", BUSY, "answer to is NPQH funded?"]


async def test_a_short_wait_gets_just_the_answer(database: str) -> None:
    rasa = FakeRasa(answer=echo, expected_wait=0.4)
    async with running_bot(database, rasa=rasa, rasa_ack_seconds=2.0) as bot:
        mark = bot.mark()
        await bot.say("hub near leeds")
        await bot.chat_idle()
        assert [p["text"] for p in bot.sent(mark)] == ["answer to hub near leeds"]


async def test_without_a_front_a_slow_answer_still_gets_the_apology(database: str) -> None:
    gate = asyncio.Event()
    rasa = FakeRasa(answer=echo, gate=gate)  # expected_wait None: GET /front/wait is a 404
    async with running_bot(database, rasa=rasa, rasa_patience_seconds=0.05) as bot:
        mark = bot.mark()
        bot.fake.push_update(text_update("hub near leeds"))
        assert (await bot.fake.wait_for("sendMessage", after=mark)).params["text"] == \
            STILL_WORKING
        gate.set()
        await bot.fake.wait_for("sendMessage", lambda p: p["text"].startswith("answer"),
                                after=mark)
        assert [p["text"] for p in bot.sent(mark)] == [STILL_WORKING, "answer to hub near leeds"]


async def test_a_message_waiting_rasa_ack_seconds_for_a_slot_is_told(database: str) -> None:
    gate = asyncio.Event()
    rasa = FakeRasa(answer=echo, gate=gate)  # no front: nothing is forecast
    async with running_bot(database, rasa=rasa, bot_turn_slots=1, rasa_ack_seconds=0.05,
                           rasa_patience_seconds=600.0) as bot:
        mark = bot.mark()
        bot.fake.push_update(text_update("first", user_id=OTHER_USER_ID))
        await rasa.arrived.wait()  # the only slot is taken, held at Rasa
        bot.fake.push_update(text_update("second"))  # waits for the slot
        try:
            told = await bot.fake.wait_for("sendMessage", after=mark, timeout=10)
        finally:
            gate.set()
        assert (told.params["chat_id"], told.params["text"]) == (DEFAULT_USER_ID, BUSY)
        assert rasa.received[0]["message"] == "first"
        await bot.fake.wait_for("sendMessage", lambda p: p["text"] == "answer to second",
                                after=mark)
        await bot.chat_idle()
        await bot.chat_idle(OTHER_USER_ID)
        assert [p["text"] for p in bot.sent(mark, chat_id=DEFAULT_USER_ID)] == [
            BUSY, "answer to second"]
        # slow at Rasa with no queue: not a rush, so no "lots of people" notice (the apology
        # after RASA_PATIENCE_SECONDS is for that)
        assert [p["text"] for p in bot.sent(mark, chat_id=OTHER_USER_ID)] == ["answer to first"]


async def test_a_turn_waiting_in_the_fronts_queue_is_told_once_for_all_its_messages(
        database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(acknowledge, "QUEUE_SECONDS", 0.01)
    gate = asyncio.Event()
    # the front expects less than RASA_ACK_SECONDS at first (nobody told), but a queue
    rasa = FakeRasa(answer=echo, gate=gate, expected_wait=0.03)
    async with running_bot(database, rasa=rasa, rasa_ack_seconds=0.05,
                           rasa_patience_seconds=600.0) as bot:
        mark = bot.mark()
        bot.fake.push_update(text_update("first"))
        await rasa.arrived.wait()
        bot.fake.push_update(text_update("second"))
        locks = bot.app.update_processor.locks
        try:
            await asyncio.wait_for(_until(lambda: locks.waiting(DEFAULT_USER_ID) == 2), 30)
            told = await bot.fake.wait_for("sendMessage", after=mark, timeout=10)
        finally:
            gate.set()
        assert told.params["text"] == BUSY
        await bot.fake.wait_for("sendMessage", lambda p: p["text"] == "answer to second",
                                after=mark)
        await bot.chat_idle()
        assert [p["text"] for p in bot.sent(mark)] == [
            BUSY, "answer to first", "answer to second"]


async def _until(condition: Callable[[], bool]) -> None:
    while not condition():  # a readiness check: the loop runs the bot meanwhile
        await asyncio.sleep(0.01)


# --- through the real front ---------------------------------------------------------------------

@dataclass
class ThroughFront(FakeRasa):
    """The bot's Rasa client pointed at a real RasaFront (the webhook's stand-in is there)."""

    url: str = ""

    def client(self) -> RasaClient:
        return RasaClient(self.url)


@pytest.fixture
def one_server_front() -> Iterator[tuple[RasaFront, Server]]:
    server = Server("npq.tar.gz")
    front = RasaFront(port=free_port(), servers=[server], launch=lambda path: server,
                      model=Path("npq.tar.gz"), concurrency=1)
    front.start()
    try:
        yield front, server
    finally:
        front.stop(backend=False)
        server.stop()


async def test_a_chat_queued_behind_another_is_told_its_answer_is_coming(
        database: str, one_server_front: tuple[RasaFront, Server]) -> None:
    front, server = one_server_front
    server.hold.clear()
    # idle, a turn is expected to take FIRST_TURN_SECONDS; behind one turn, twice that
    ack_after = FIRST_TURN_SECONDS * 1.5
    loop = asyncio.get_running_loop()
    async with running_bot(database, rasa=ThroughFront(url=front.url),
                           rasa_ack_seconds=ack_after) as bot:
        mark = bot.mark()
        bot.fake.push_update(text_update("first", user_id=OTHER_USER_ID))
        await loop.run_in_executor(None, until, lambda: server.waiting == 1)
        bot.fake.push_update(text_update("second"))
        told = await bot.fake.wait_for("sendMessage", after=mark)
        assert told.params == {**told.params, "chat_id": DEFAULT_USER_ID, "text": BUSY}
        server.hold.set()
        await bot.fake.wait_for("sendMessage", lambda p: p["text"] == "second", after=mark)
        await bot.chat_idle()
        await bot.chat_idle(OTHER_USER_ID)
        assert [p["text"] for p in bot.sent(mark, chat_id=DEFAULT_USER_ID)] == [BUSY, "second"]
        assert [p["text"] for p in bot.sent(mark, chat_id=OTHER_USER_ID)] == ["first"]
    assert server.turns == [(str(OTHER_USER_ID), "first"), (str(DEFAULT_USER_ID), "second")]

