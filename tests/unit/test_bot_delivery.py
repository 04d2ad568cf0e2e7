"""Under pressure: other chats answered while one floods, a flooder told once, every reply
delivered once through Telegram's 429s and 5xx and across a restart (the outbox), messages kept
while the database is unreachable (the spool), and kept messages answered exactly once (a turn
Rasa finished late is not run again; a claim does not lapse while its replica works)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.chat_locks import ChatLocks
from bot.pending import KeptMessages
from bot.render import (
    DB_DOWN,
    FLOODED,
    LATE_ANSWER,
    UNAVAILABLE,
    UNKNOWN_COMMAND,
    WELCOME_BACK,
)
from npq.db.models import OutboxMessage, PendingMessage
from tests.support.bot_harness import FakeRasa, Harness, running_bot
from tests.support.updates import DEFAULT_USER_ID, text_update

FAST_RETRY = {"pending_retry_seconds": 0.2, "outbox_retry_seconds": 0.1}
FLOODER, OTHER = 700001, 700002


def echo(sender: str, message: str) -> list[dict[str, Any]]:
    return [{"text": f"answer to {message}"}]


def answers(bot: Harness, chat_id: int, after: int = 0) -> list[str]:
    """What the chat received, in order (accepted sends only)."""
    return [c.params["text"] for c in bot.fake.calls[after:]
            if c.method == "sendMessage" and c.ok and c.params["chat_id"] == chat_id]


def count(bot: Harness, model: Any) -> int:
    with bot.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def push(bot: Harness, chat_id: int, texts: list[str]) -> list[int]:
    return [bot.fake.push_update(text_update(text, user_id=chat_id)) for text in texts]


async def test_other_chats_are_answered_while_one_chat_floods(database: str) -> None:
    rasa = FakeRasa(answer=echo, gates={str(FLOODER): asyncio.Event()})
    async with running_bot(database, rasa=rasa, flood_messages=1000) as bot:
        flood = push(bot, FLOODER, [f"question {n}" for n in range(80)])  # more than 64 slots
        await bot.fake.wait_for("sendMessage", lambda p: p["chat_id"] == FLOODER)  # "typing…"
        mark = bot.mark()
        bot.fake.push_update(text_update("hub near leeds", user_id=OTHER))
        call = await bot.fake.wait_for("sendMessage", lambda p: p["chat_id"] == OTHER,
                                       after=mark)
        assert call.params["text"] == "answer to hub near leeds"
        rasa.gates[str(FLOODER)].set()  # the flooder's turns go on, in order, none lost
        for update_id in flood:
            await bot.handled(update_id)
        assert [t for t in answers(bot, FLOODER) if t.startswith("answer")] == [
            f"answer to question {n}" for n in range(80)]


async def test_a_flooding_chat_is_told_once_and_what_it_sends_past_the_limit_is_dropped(
        database: str) -> None:
    rasa = FakeRasa(answer=echo, gates={str(FLOODER): asyncio.Event()})
    async with running_bot(database, rasa=rasa, flood_messages=5,
                           flood_window_seconds=600) as bot:
        flood = push(bot, FLOODER, [f"question {n}" for n in range(12)])
        notice = await bot.fake.wait_for("sendMessage", lambda p: p["text"] == FLOODED)
        assert notice.params["chat_id"] == FLOODER
        rasa.gates[str(FLOODER)].set()
        for update_id in flood:
            await bot.handled(update_id)
        assert answers(bot, FLOODER) == [FLOODED] + [f"answer to question {n}" for n in range(5)]
        assert [r["message"] for r in rasa.received] == [f"question {n}" for n in range(5)]


async def test_a_reply_refused_with_429_five_times_is_delivered_once(database: str) -> None:
    async with running_bot(database, **FAST_RETRY) as bot:
        bot.fake.fail_next("sendMessage", error_code=429, description="Too Many Requests",
                           retry_after=1, times=5)
        bot.fake.push_update(text_update("hub near leeds"))
        delivered = await _accepted(bot, "The nearest hubs to Keighley: ...", 60)
        attempts = [c for c in bot.fake.calls if c.method == "sendMessage"]
        assert [c.error_code for c in attempts] == [429] * 5 + [None]
        assert delivered.params["chat_id"] == DEFAULT_USER_ID
        await bot.chat_idle()
        assert count(bot, OutboxMessage) == 0
        assert answers(bot, DEFAULT_USER_ID) == ["The nearest hubs to Keighley: ..."]


async def _accepted(bot: Harness, text: str, timeout: float) -> Any:
    """The accepted sendMessage of `text` (refused attempts before it skipped)."""
    after = 0
    while True:
        call = await bot.fake.wait_for("sendMessage", lambda p: p["text"] == text,
                                       timeout=timeout, after=after)
        if call.ok:
            return call
        after = bot.index(call) + 1


async def test_a_reply_telegram_would_not_take_is_delivered_after_a_restart(
        database: str) -> None:
    async with running_bot(database) as bot:  # the outbox job never runs in this one
        bot.fake.fail_next("sendMessage", error_code=502, description="Bad Gateway", times=50)
        bot.fake.push_update(text_update("hub near leeds"))
        await bot.fake.wait_for("sendMessage")
        await bot.chat_idle()
        assert count(bot, OutboxMessage) == 1
        assert answers(bot, DEFAULT_USER_ID) == []
    async with running_bot(database, **FAST_RETRY) as bot:  # a new process, Telegram fine
        await _accepted(bot, "The nearest hubs to Keighley: ...", 30)
        await bot.chat_idle()
        assert answers(bot, DEFAULT_USER_ID) == ["The nearest hubs to Keighley: ..."]
        assert count(bot, OutboxMessage) == 0
        assert bot.rasa.received == []  # not asked again: the answer was already decided


async def test_a_turn_rasa_finished_after_the_bot_gave_up_is_not_run_again(
        database: str) -> None:
    rasa = FakeRasa(answer=echo, failing="late")
    async with running_bot(database, rasa=rasa, **FAST_RETRY) as bot:
        assert (await bot.say("hub near york")).params["text"] == UNAVAILABLE
        mark = bot.mark()
        rasa.failing = None
        await bot.fake.wait_for("sendMessage", lambda p: p["text"].startswith("answer"),
                                after=mark)
        await bot.chat_idle()
        assert answers(bot, DEFAULT_USER_ID, mark) == [
            LATE_ANSWER.format(what="“hub near york”"), "answer to hub near york"]
        assert [r["message"] for r in rasa.received] == ["hub near york"]  # run once
        assert count(bot, PendingMessage) == 0


async def test_a_claim_does_not_lapse_while_rasa_is_slow_so_no_second_replica_answers(
        database: str) -> None:
    rasa = FakeRasa(answer=echo, down=True)
    async with running_bot(database, rasa=rasa) as bot:
        assert (await bot.say("is NPQH funded?")).params["text"] == UNAVAILABLE
        services = bot.services
        services.kept.renew_every = 0.01
        rasa.down, rasa.gate = False, asyncio.Event()
        rasa.arrived.clear()
        first = asyncio.ensure_future(services.kept.retry(services.conversation))
        await rasa.arrived.wait()  # replica one is waiting for Rasa
        bot.clock.now += dt.timedelta(minutes=10)  # long past the claim's first term
        services.kept.renewed.clear()
        await services.kept.renewed.wait()  # ... which replica one has renewed since
        other = KeptMessages(services.outbox, services.db, services.rasa, ChatLocks(),
                             bot.clock, give_up_after=dt.timedelta(hours=2))
        await other.retry(services.conversation)  # replica two finds nothing free
        assert len(rasa.received) == 1
        rasa.gate.set()
        await first
        await bot.chat_idle()
        assert [t for t in answers(bot, DEFAULT_USER_ID) if t.startswith("answer")] == [
            "answer to is NPQH funded?"]
        assert count(bot, PendingMessage) == 0


@contextlib.contextmanager
def locked(database: str) -> Iterator[None]:
    """Another process holds the SQLite file exclusively: the bot can neither read nor write."""
    holder = sqlite3.connect(database.removeprefix("sqlite:///").split("?")[0])
    try:
        holder.execute("PRAGMA locking_mode=EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("CREATE TABLE IF NOT EXISTS lock_holder (x INTEGER)")
        holder.commit()  # the exclusive lock stays until the connection closes
        yield
    finally:
        holder.close()


async def test_messages_sent_while_the_database_is_unreachable_are_kept_and_answered_in_order(
        database: str) -> None:
    url = database + "?timeout=0.2"  # the bot gives up on a lock after 0.2 s, not 30
    rasa = FakeRasa(answer=echo)
    async with running_bot(url, rasa=rasa) as bot:
        with locked(database):
            mark = bot.mark()
            told = await bot.say("hub near leeds")
            assert told.params["text"] == DB_DOWN
            last = bot.fake.push_update(text_update("is NPQH funded?"))
            await bot.handled(last)
            assert answers(bot, DEFAULT_USER_ID, mark) == [DB_DOWN]  # told once
            assert rasa.received == []
        mark = bot.mark()
        await bot.app.job_queue.get_jobs_by_name("retry kept messages")[0].run(bot.app)
        await bot.chat_idle()
        assert answers(bot, DEFAULT_USER_ID, mark) == [
            LATE_ANSWER.format(what="“hub near leeds”"), "answer to hub near leeds",
            LATE_ANSWER.format(what="“is NPQH funded?”"), "answer to is NPQH funded?"]
        assert count(bot, PendingMessage) == 0


@pytest.mark.parametrize(("command", "expected"), [
    ("/start", WELCOME_BACK.format(name="Sam")),
    ("/frobnicate", UNKNOWN_COMMAND),
    ("/done", "You're not chatting with anyone from our team right now. Ask me anything, or "
              "send /help."),
], ids=["welcome back", "unknown command", "done"])
async def test_a_command_answered_without_rasa_waits_out_a_429(database: str, command: str,
                                                               expected: str) -> None:
    rasa = FakeRasa(answer=echo, history={str(DEFAULT_USER_ID)})  # a returning user
    async with running_bot(database, rasa=rasa, **FAST_RETRY) as bot:
        bot.fake.fail_next("sendMessage", error_code=429, description="Too Many Requests",
                           retry_after=1, times=4)  # the first try and the limiter's 3 retries
        mark = bot.mark()
        bot.fake.push_update(text_update(command))
        await _accepted(bot, expected, 20)
        await bot.chat_idle()
        assert answers(bot, DEFAULT_USER_ID, mark) == [expected]  # once, and no apology


class HeldDatabase:
    """The bot's database, each unit of work held until `go` is set (a slow write)."""

    def __init__(self, db: Any) -> None:
        self.db, self.go, self.waiting = db, asyncio.Event(), asyncio.Event()

    async def run(self, work: Any, /, *args: Any, **kwargs: Any) -> Any:
        self.waiting.set()
        await self.go.wait()
        return await self.db.run(work, *args, **kwargs)


async def test_spooled_messages_are_answered_once_even_when_two_drains_meet(
        database: str) -> None:
    """The retry job and a chat's turn both move the file into the database, while a message
    from another chat is added to it: every message is answered, once."""
    async with running_bot(database, rasa=FakeRasa(answer=echo)) as bot:
        spool = bot.services.spool
        spool.add(FLOODER, "hub near leeds", typed=True, key="k1")
        held = spool.db = HeldDatabase(bot.services.db)
        first = asyncio.ensure_future(spool.drain())
        second = asyncio.ensure_future(spool.drain())
        await held.waiting.wait()  # one drain is writing; the database is slow
        spool.add(OTHER, "is NPQH funded?", typed=True, key="k2")  # ... and down for OTHER
        held.go.set()
        assert await first and await second
        mark = bot.mark()
        await bot.app.job_queue.get_jobs_by_name("retry kept messages")[0].run(bot.app)
        for chat in (FLOODER, OTHER):
            await bot.chat_idle(chat)
        assert answers(bot, FLOODER, mark) == [LATE_ANSWER.format(what="“hub near leeds”"),
                                               "answer to hub near leeds"]
        assert answers(bot, OTHER, mark) == [LATE_ANSWER.format(what="“is NPQH funded?”"),
                                             "answer to is NPQH funded?"]
        assert count(bot, PendingMessage) == 0 and spool.empty
