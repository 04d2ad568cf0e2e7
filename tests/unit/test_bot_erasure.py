"""Forget me, finished by the front end (bot/erasure.py): the conversation Rasa keeps and the
person's messages staff labelled into the training data are erased too, what fails is retried,
and the person is told only what is true, through the real PTB HTTP path."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.erasure import CONVERSATION, TRAINING_DATA, Outcome
from npq.db import make_engine, make_session_factory, session_scope
from npq.db.models import MessageLog, OutboxMessage, PendingErasure, PendingMessage
from npq.handoffs import record_handoff
from npq.people import forget, forgotten_answer
from ops.retrain import exclusive
from ops.training_data import REVIEWED, read_reviewed, render_reviewed
from tests.support.bot_harness import FakeRasa, Harness, running_bot, training_copy
from tests.support.updates import DEFAULT_USER_ID, text_update

JSON = dict[str, Any]
MINE = "is there parking at the Leeds hub"
THEIRS = "can I bring my dog to sessions"


def assistant(database: str) -> FakeRasa:
    """Rasa whose "yes" confirms forget me, as actions/people.py's erase_everything does."""
    def answer(sender: str, message: str) -> list[JSON]:
        if message != "yes":
            return [{"text": f"answer to {message}"}]
        engine = make_engine(database)
        with session_scope(make_session_factory(engine)) as session:
            text = forgotten_answer(forget(session, sender)).text
        engine.dispose()
        return [{"text": text}, {"custom": {"erase_conversation": True}}]
    return FakeRasa(answer=answer)


def tracker_file(bot: Harness) -> Path:
    return Path(bot.database_url.removeprefix("sqlite:///")).with_name("rasa-tracker.db")


def rasa_events(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255), "
                   "type_name VARCHAR(255), timestamp FLOAT, data TEXT)")
        db.executemany("INSERT INTO events (sender_id, type_name, data) VALUES (?, ?, ?)",
                       [(str(DEFAULT_USER_ID), "user", MINE), ("someone-else", "user", "hi")])


def senders(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        return [row[0] for row in db.execute("SELECT sender_id FROM events")]


def labelled(bot: Harness) -> None:
    """Staff labelled one message of ours and one of someone else's into reviewed.yml."""
    with bot.session() as session:
        for chat, text in ((str(DEFAULT_USER_ID), MINE), ("someone-else", THEIRS)):
            session.add(MessageLog(chat_id=chat, text=text, intent="nlu_fallback", entities=[],
                                   review_label="find_hub", created_at=bot.clock()))
    reviewed = bot.services.training.root / REVIEWED
    reviewed.write_text(render_reviewed({"find_hub": [MINE, THEIRS]}))


@pytest.fixture
def training(tmp_path: Path) -> Any:
    (tmp_path / "project").mkdir()
    return training_copy(tmp_path / "project")


async def forget_me(bot: Harness) -> list[str]:
    """Say yes to "forget me"; every message the user got, once the turn is over."""
    mark = bot.mark()
    bot.fake.push_update(text_update("yes"))
    await bot.fake.wait_for("sendMessage", lambda p: p["text"].startswith(("Done", "I couldn")),
                            after=mark)
    await bot.chat_idle()
    return [p["text"] for p in bot.sent(mark, DEFAULT_USER_ID)]


def pending(bot: Harness) -> int:
    with bot.session() as session:
        return session.scalar(select(func.count()).select_from(PendingErasure)) or 0


async def test_forgetting_removes_the_labelled_messages_and_the_conversation(
        database: str, training: Any) -> None:
    async with running_bot(database, rasa=assistant(database), training=training) as bot:
        rasa_events(tracker_file(bot))
        labelled(bot)
        said = await forget_me(bot)
        assert said == [
            "I've deleted the details I held about you (1 message in our log). Now deleting our "
            "conversation…",
            "Done: our conversation is deleted too, and 1 of your messages from our training "
            "data."]
        assert read_reviewed((training.root / REVIEWED).read_text()) == {"find_hub": [THEIRS]}
        assert senders(tracker_file(bot)) == ["someone-else"]
        assert pending(bot) == 0


async def test_what_could_not_be_erased_is_retried_and_the_person_told_only_then(
        database: str, training: Any) -> None:
    async with running_bot(database, rasa=assistant(database), training=training,
                           pending_retry_seconds=0.2) as bot:
        tracker_file(bot).touch()  # Rasa's store without its table: deleting fails
        labelled(bot)
        with exclusive(training.root / "models", "a retrain"):  # the training data is busy
            said = await forget_me(bot)
            assert said[-1] == ("I couldn't delete our conversation or your messages in our "
                                "training data just yet. I'll keep trying and tell you here "
                                "when it's done.")
            assert not any(text.startswith("Done") for text in said)
            assert pending(bot) == 1
        rasa_events(tracker_file(bot))  # the table is there now
        mark = bot.mark()
        done = await bot.fake.wait_for("sendMessage", lambda p: p["text"].startswith("Done"),
                                       after=mark)
        assert done.params["text"] == ("Done: our conversation is deleted now too, and 1 of "
                                       "your messages from our training data.")
        assert senders(tracker_file(bot)) == ["someone-else"]
        assert read_reviewed((training.root / REVIEWED).read_text()) == {"find_hub": [THEIRS]}
        await bot.chat_idle()
        assert pending(bot) == 0
        assert [p["text"] for p in bot.sent(mark)].count(done.params["text"]) == 1


def test_the_person_is_told_what_is_true() -> None:
    assert Outcome((CONVERSATION,)).message() == (
        "I couldn't delete our conversation just yet. I'll keep trying and tell you here when "
        "it's done.")
    assert Outcome((TRAINING_DATA,)).message().startswith(
        "I couldn't delete your messages in our training data just yet.")
    assert Outcome(()).message() == "Done: our conversation is deleted too."
    assert Outcome((), 2).message(later=True) == (
        "Done: our conversation is deleted now too, and 2 of your messages from our training "
        "data.")


def test_forget_records_what_is_left_to_erase(database: str) -> None:
    engine = make_engine(database)
    factory = make_session_factory(engine)
    now = dt.datetime(2027, 2, 8, 10, 0, tzinfo=dt.timezone.utc)
    with session_scope(factory) as session:
        session.add_all([
            MessageLog(chat_id="42", text=MINE, entities=[], review_label="find_hub"),
            MessageLog(chat_id="42", text="asdf", entities=[], review_label="not_relevant"),
            MessageLog(chat_id="42", text="unlabelled", entities=[]),
            MessageLog(chat_id="43", text=THEIRS, entities=[], review_label="find_hub")])
    with session_scope(factory) as session:
        forget(session, "42", now=now)
    with factory() as session:
        [erasure] = session.scalars(select(PendingErasure)).all()
        assert (erasure.chat_id, erasure.examples, erasure.attempts) == ("42", [MINE], 0)
    engine.dispose()


# --- what waits to be sent, or to be answered --------------------------------------------------

STAFF = -100555
WAITING = "Thank you, Sam. Our team will email you at sam@example.org."


def outbox(bot: Harness) -> list[str]:
    with bot.session() as session:
        return [m.text for m in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]


async def test_forgetting_drops_the_replies_still_waiting_to_be_sent_to_them(
        database: str, training: Any) -> None:
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)  # Telegram said wait
    async with running_bot(database, rasa=assistant(database), training=training) as bot:
        with bot.session() as session:
            session.add_all([
                OutboxMessage(chat_id=str(DEFAULT_USER_ID), text=WAITING, not_before=later),
                OutboxMessage(chat_id="4343", text="someone else's answer", not_before=later)])
        said = await forget_me(bot)  # at once: not held up behind what was waiting
        assert said == [
            "I didn't hold any other details about you. Now deleting our conversation…",
            "Done: our conversation is deleted too."]
        assert outbox(bot) == ["someone else's answer"]
        assert not any(WAITING in str(c.params) for c in bot.fake.calls)


async def test_forgetting_drops_their_messages_waiting_for_the_staff_group(
        database: str, training: Any) -> None:
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
    async with running_bot(database, rasa=assistant(database), training=training,
                           staff_chat_id=STAFF) as bot:
        with bot.session() as session:
            request = record_handoff(session, chat_id=str(DEFAULT_USER_ID), reason="call me",
                                     context=[], now=bot.clock())
            request.status = "closed"
            session.add(OutboxMessage(chat_id=str(STAFF), text="Sam wrote: call 07700 900123",
                                      handoff_id=request.id, not_before=later))
        said = await forget_me(bot)
        assert said[0].startswith("I've deleted the details I held about you (1 request to "
                                  "talk to a person)")
        assert outbox(bot) == []
        assert not any("07700" in str(c.params) for c in bot.fake.calls)


async def test_messages_kept_in_the_spool_are_answered_then_forgotten_with_the_rest(
        database: str, training: Any) -> None:
    spool = Path(database.removeprefix("sqlite:///")).with_name("spool.jsonl")
    spool.write_text(json.dumps({"chat_id": DEFAULT_USER_ID, "message": MINE, "typed": True,
                                 "key": "k1", "at": "2027-02-08T09:59:00+00:00"}) + "\n")
    async with running_bot(database, rasa=assistant(database), training=training) as bot:
        said = await forget_me(bot)
        assert said[1] == f"answer to {MINE}"  # kept while the database was down: answered
        assert said[-1] == "Done: our conversation is deleted too."
        assert not spool.exists()
        with bot.session() as session:
            for model in (PendingMessage, MessageLog, OutboxMessage):
                assert session.scalar(select(func.count()).select_from(model)) == 0
