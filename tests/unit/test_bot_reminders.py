"""Deadline reminders: which are due on a day (npq.reminders, table tests), claiming each once in
the database, and the bot sending them once across restarts and replicas."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from npq import reminders
from npq.db import make_engine, make_session_factory, session_scope
from npq.db.models import ReminderDelivery, ReminderSubscription
from npq.reminders import Closing, Subscriber, due_reminders, reminder_answer
from tests.support.bot_harness import Clock, running_bot
from tests.support.fake_bot_api import FakeBotAPI
from tests.support.updates import DEFAULT_USER_ID

DAYS = (14, 3, 1)
CLOSES = dt.date(2027, 2, 12)
NPQH = Closing(1, "NPQH", "NPQ for Headship", "2027a", dt.date(2026, 10, 1), CLOSES)
NPQH_LATER = Closing(2, "NPQH", "NPQ for Headship", "2027a", dt.date(2026, 10, 1),
                     dt.date(2027, 2, 26))
NPQSL = Closing(3, "NPQSL", "NPQ for Senior Leadership", "2027b", dt.date(2027, 4, 1),
                dt.date(2027, 2, 15))
LONG_AGO = dt.date(2026, 12, 1)


def days_before(n: int) -> dt.date:
    return CLOSES - dt.timedelta(days=n)


# today, subscribed on, stages already sent, the stage due (None: nothing due)
STAGES = [
    (days_before(20), LONG_AGO, set(), None),
    (days_before(14), LONG_AGO, set(), 14),
    (days_before(10), LONG_AGO, set(), 14),  # a day or more late: still the 14-day one
    (days_before(10), LONG_AGO, {14}, None),
    (days_before(3), LONG_AGO, {14}, 3),
    (days_before(2), LONG_AGO, set(), 3),  # after downtime: only the nearest stage reached
    (days_before(1), LONG_AGO, {14, 3}, 1),
    (days_before(0), LONG_AGO, {14, 3, 1}, None),
    (days_before(1), LONG_AGO, {1}, None),
    (days_before(10), days_before(12), set(), None),  # subscribed once the stage had begun
    (days_before(3), days_before(12), set(), 3),
    (days_before(14), days_before(14), set(), None),  # subscribed that very day
    (CLOSES + dt.timedelta(days=1), LONG_AGO, set(), None),  # closed
]


@pytest.mark.parametrize(("today", "since", "sent", "stage"), STAGES)
def test_which_stage_is_due(today: dt.date, since: dt.date, sent: set[int],
                            stage: int | None) -> None:
    subscriber = Subscriber(7, "42", "NPQH", None, since)
    done = [(7, "NPQH", "2027a", s) for s in sent]
    due = due_reminders([subscriber], [NPQH], done, today, DAYS)
    assert [d.stage for d in due] == ([] if stage is None else [stage])


def test_hubs_closing_later_give_no_second_series() -> None:
    subscriber = Subscriber(7, "42", "NPQH", None, LONG_AGO)
    sent = [(7, "NPQH", "2027a", s) for s in (14, 3, 1)]
    # the first hubs closed yesterday; the last close in 13 days
    assert due_reminders([subscriber], [NPQH, NPQH_LATER], sent,
                         CLOSES + dt.timedelta(days=1), DAYS) == []


@pytest.mark.parametrize(("programme", "intake", "expected"), [
    ("NPQH", None, [("NPQH", 3)]),
    ("NPQH", "2027b", []),
    ("NPQSL", None, [("NPQSL", 14)]),
    (None, None, [("NPQH", 3), ("NPQSL", 14)]),
    (None, "2027b", [("NPQSL", 14)]),
])
def test_a_subscription_covers_its_programme_and_intake(programme: str | None,
                                                        intake: str | None,
                                                        expected: list[tuple[str, int]]) -> None:
    subscriber = Subscriber(7, "42", programme, intake, LONG_AGO)
    due = due_reminders([subscriber], [NPQH, NPQH_LATER, NPQSL], [], days_before(3), DAYS)
    assert [(d.closing.programme_code, d.stage) for d in due] == expected
    assert all(d.closing.cohort_id != NPQH_LATER.cohort_id for d in due)  # earliest closing


def test_the_reminder_says_what_closes_when_with_buttons_to_apply_or_stop() -> None:
    due = due_reminders([Subscriber(7, "42", "NPQH", None, LONG_AGO)], [NPQH], [],
                        days_before(3), DAYS)
    answer = reminder_answer(due, days_before(3))
    assert answer.text.splitlines()[2] == ("• NPQH (NPQ for Headship), spring 2027: "
                                           "applications close in 3 days (12 February 2027).")
    assert [(b.title, b.intent, b.entities) for b in answer.buttons] == [
        ("How do I apply?", "how_to_apply", {"npq": "NPQH"}),
        ("See deadlines", "ask_deadlines", {"npq": "NPQH"}),
        ("Stop reminders", "unsubscribe", {})]
    staggered = due_reminders([Subscriber(7, "42", "NPQH", None, LONG_AGO)],
                              [NPQH, NPQH_LATER], [], days_before(1), DAYS)
    assert "the first hubs stop taking applications tomorrow (12 February 2027); others " \
           "close by 26 February 2027." in reminder_answer(staggered, days_before(1)).text


# --- the database: one claim wins ------------------------------------------------------------

def subscribe(session: Session, chat_id: str = str(DEFAULT_USER_ID), programme: str = "NPQSENCO",
              intake: str | None = "2027a") -> ReminderSubscription:
    row = ReminderSubscription(chat_id=chat_id, programme_code=programme, intake=intake,
                               active=True,
                               created_at=dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc))
    session.add(row)
    session.flush()
    return row


TUESDAY = dt.datetime(2027, 2, 9, 10, 0, tzinfo=dt.timezone.utc)  # NPQSENCO closes on the 11th


def test_a_reminder_is_claimed_once(session: Session) -> None:
    subscribe(session)
    [due] = reminders.due_on(session, TUESDAY.date(), DAYS, TUESDAY)
    assert (due.stage, due.closing.closes) == (3, dt.date(2027, 2, 11))
    first = reminders.claim(session, due, TUESDAY)
    assert first is not None and reminders.claim(session, due, TUESDAY) is None
    reminders.finish(session, [first], status="sent", now=TUESDAY)
    assert reminders.due_on(session, TUESDAY.date(), DAYS, TUESDAY) == []
    assert session.get(ReminderDelivery, first).status == "sent"  # type: ignore[union-attr]


def test_a_claim_left_by_a_sender_that_died_is_taken_over(session: Session) -> None:
    subscribe(session)
    [due] = reminders.due_on(session, TUESDAY.date(), DAYS, TUESDAY)
    claimed = reminders.claim(session, due, TUESDAY)
    later = TUESDAY + reminders.STALE_CLAIM + dt.timedelta(seconds=1)
    assert reminders.due_on(session, TUESDAY.date(), DAYS, TUESDAY) == []
    assert reminders.due_on(session, later.date(), DAYS, later) == [due]
    assert reminders.claim(session, due, later) == claimed
    reminders.release(session, [claimed])  # type: ignore[list-item]
    assert reminders.due_on(session, later.date(), DAYS, later) == [due]


# --- the bot ---------------------------------------------------------------------------------

def with_subscription(database: str, **kwargs: Any) -> None:
    engine = make_engine(database)
    with session_scope(make_session_factory(engine)) as session:
        subscribe(session, **kwargs)
    engine.dispose()


def deliveries(database: str) -> list[tuple[int, str]]:
    engine = make_engine(database)
    with make_session_factory(engine)() as session:
        rows = [(r.days_before, r.status) for r in session.scalars(select(ReminderDelivery))]
    engine.dispose()
    return rows


async def test_a_due_reminder_is_sent_once_across_a_restart(database: str) -> None:
    with_subscription(database)
    async with FakeBotAPI() as fake:
        async with running_bot(database, fake=fake, clock=Clock(TUESDAY),
                               reminder_check_seconds=0.2) as bot:
            call = await fake.wait_for("sendMessage")  # from the scheduled job
            await bot.chat_idle()
        assert call.params["chat_id"] == DEFAULT_USER_ID
        text = call.params["text"]
        assert text.startswith("⏰ Deadline reminder\n\n• NPQSENCO (NPQ for Special Educational "
                               "Needs Co-ordinators), spring 2027: the first hubs stop taking "
                               "applications in 2 days (11 February 2027)")
        keyboard = call.params["reply_markup"]["inline_keyboard"]
        assert [[b["text"] for b in row] for row in keyboard] == [
            ["How do I apply?", "See deadlines"], ["Stop reminders"], ["Apply on the DfE service"]]
        buttons = [b for row in keyboard for b in row]
        assert buttons[-1]["url"].startswith("https://register-national-professional-")
        assert deliveries(database) == [(3, "sent")]
        async with running_bot(database, fake=fake, clock=Clock(TUESDAY)) as restarted:
            assert await restarted.services.reminders.send_due() == 0
        assert [c for c in fake.calls if c.method == "sendMessage"] == [call]
        assert deliveries(database) == [(3, "sent")]


async def test_two_replicas_send_a_reminder_once(database: str) -> None:
    with_subscription(database)
    async with FakeBotAPI() as fake:
        async with running_bot(database, fake=fake, clock=Clock(TUESDAY), poll=False) as one, \
                running_bot(database, fake=fake, clock=Clock(TUESDAY), poll=False) as two:
            sent = await asyncio.gather(one.services.reminders.send_due(),
                                        two.services.reminders.send_due())
        assert sorted(sent) == [0, 1]
        assert len([c for c in fake.calls if c.method == "sendMessage"]) == 1
        assert deliveries(database) == [(3, "sent")]


async def test_a_chat_that_blocked_the_bot_is_unsubscribed(database: str) -> None:
    with_subscription(database)
    async with running_bot(database, clock=Clock(TUESDAY)) as bot:
        bot.fake.fail_next("sendMessage", error_code=403,
                           description="Forbidden: bot was blocked by the user")
        assert await bot.services.reminders.send_due() == 0
        assert deliveries(database) == [(3, "failed")]
        with bot.session() as session:
            assert [s.active for s in session.scalars(select(ReminderSubscription))] == [False]


async def test_a_failed_send_is_tried_again_on_the_next_pass(database: str) -> None:
    with_subscription(database)
    async with running_bot(database, clock=Clock(TUESDAY)) as bot:
        bot.fake.fail_next("sendMessage", error_code=500, description="Internal error", times=4)
        assert await bot.services.reminders.send_due() == 0  # 1 try + 3 retries, all failed
        assert deliveries(database) == []
        assert await bot.services.reminders.send_due() == 1
        assert deliveries(database) == [(3, "sent")]


async def test_nothing_is_sent_before_the_morning(database: str) -> None:
    with_subscription(database)
    early = Clock(dt.datetime(2027, 2, 9, 6, 30, tzinfo=dt.timezone.utc))
    async with running_bot(database, clock=early, reminder_hour=9) as bot:
        assert await bot.services.reminders.send_due() == 0
        early.now = TUESDAY
        assert await bot.services.reminders.send_due() == 1


async def test_a_reminder_telegram_holds_back_is_not_marked_sent_and_goes_on_the_next_pass(
        database: str) -> None:
    with_subscription(database)
    async with running_bot(database, clock=Clock(TUESDAY)) as bot:
        bot.fake.fail_next("sendMessage", error_code=429, description="Too Many Requests",
                           retry_after=1, times=4)  # the first try and the limiter's 3 retries
        assert await bot.services.reminders.send_due() == 0
        assert deliveries(database) == []  # released, not recorded as sent
        assert await bot.services.reminders.send_due() == 1
        delivered = [c for c in bot.fake.calls if c.method == "sendMessage" and c.ok]
        assert [c.params["text"].splitlines()[0] for c in delivered] == ["⏰ Deadline reminder"]
        assert deliveries(database) == [(3, "sent")]
