"""Every kind of personal data has a stated retention and the purge removes what is older
(npq/retention.py), on SQLite and (with TEST_DATABASE_URL) PostgreSQL; the settings and the
README's privacy table agree; `python -m npq purge` runs it now, Rasa's tracker events
included."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from npq import __main__ as npq_cli
from npq.db import make_engine, make_session_factory, session_scope
from npq.db.models import (
    ButtonPayload,
    Cohort,
    HandoffMessage,
    HandoffRequest,
    Lead,
    MessageLog,
    PartnerEnquiry,
    PendingMessage,
    ReminderDelivery,
    ReminderSubscription,
)
from npq.people import subscribe_reminders, unsubscribe
from npq.retention import Retention, purge_conversations, purge_personal_data
from npq.settings import Settings
from ops.paths import ROOT

NOW = dt.datetime(2027, 6, 1, 9, 0, tzinfo=dt.timezone.utc)


def ago(days: float) -> dt.datetime:
    return NOW - dt.timedelta(days=days)


def fill(session: Session, chat: str, at: dt.datetime) -> None:
    """One row of every kind of personal data about `chat`, made at `at`."""
    session.add(MessageLog(chat_id=chat, text=f"{chat} said", reply="ok", entities=[],
                           created_at=at))
    request = HandoffRequest(chat_id=chat, reason="call me", context=[{"text": "my number"}],
                             status="closed", created_at=at, closed_at=at)
    session.add(request)
    session.flush()
    session.add(HandoffMessage(handoff_id=request.id, staff_chat_id=-100, message_id=request.id))
    session.add(Lead(chat_id=chat, name="Sam Patel", email=f"{chat}@school.org", consent=True,
                     consent_at=at, created_at=at))
    session.add(PartnerEnquiry(chat_id=chat, organisation="A School", answers={},
                               assessment={}, created_at=at))
    subscription = ReminderSubscription(chat_id=chat, active=False, created_at=at, ended_at=at)
    session.add(subscription)
    session.flush()
    cohort = session.scalars(select(Cohort)).first()
    assert cohort is not None
    session.add(ReminderDelivery(subscription_id=subscription.id, cohort_id=cohort.id,
                                 days_before=14, sent_at=at))
    session.add(ButtonPayload(digest=f"{chat}-digest", payload=f'/find_hub{{"x": "{chat}"}}',
                              created_at=at))
    session.add(PendingMessage(chat_id=chat, message="kept", typed=True, created_at=at))


def held(session: Session, chat: str) -> dict[str, int]:
    def n(model: type, *where: object) -> int:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0
    return {
        "message text": n(MessageLog, MessageLog.chat_id == chat, MessageLog.text.is_not(None)),
        "handoff_requests": n(HandoffRequest, HandoffRequest.chat_id == chat),
        "leads": n(Lead, Lead.chat_id == chat),
        "partner_enquiries": n(PartnerEnquiry, PartnerEnquiry.chat_id == chat),
        "reminder_subscriptions": n(ReminderSubscription, ReminderSubscription.chat_id == chat),
        "button_payloads": n(ButtonPayload, ButtonPayload.digest == f"{chat}-digest"),
        "pending_messages": n(PendingMessage, PendingMessage.chat_id == chat),
    }


EVERYTHING = {"message text": 1, "handoff_requests": 1, "leads": 1, "partner_enquiries": 1,
              "reminder_subscriptions": 1, "button_payloads": 1, "pending_messages": 1}
NOTHING = dict.fromkeys(EVERYTHING, 0)


def test_the_purge_removes_each_kind_past_its_retention_and_keeps_the_rest(
        session_factory: sessionmaker[Session]) -> None:
    with session_scope(session_factory) as session:
        fill(session, "old", ago(400))  # older than every retention
        fill(session, "recent", ago(20))  # younger than every retention but the kept messages
        fill(session, "month", ago(45))  # between: ended reminders (30 days) go, the rest stay
    with session_scope(session_factory) as session:
        counts = purge_personal_data(session, now=NOW, retention=Retention())
    assert counts == {"message_log": 1, "handoff_requests": 1, "leads": 1,
                      "partner_enquiries": 1, "reminder_subscriptions": 2,
                      "button_payloads": 1, "pending_messages": 3}
    with session_factory() as session:
        assert held(session, "old") == NOTHING
        assert held(session, "recent") == {**EVERYTHING, "pending_messages": 0}
        assert held(session, "month") == {**EVERYTHING, "pending_messages": 0,
                                          "reminder_subscriptions": 0}
        assert session.scalar(select(func.count()).select_from(HandoffMessage)) == 2
        assert session.scalar(select(func.count()).select_from(ReminderDelivery)) == 1


def test_each_retention_is_its_own_setting(session_factory: sessionmaker[Session]) -> None:
    with session_scope(session_factory) as session:
        fill(session, "x", ago(10))
    short = Retention(messages=5, conversations=5, handoffs=5, leads=5, partner_enquiries=5,
                      ended_reminders=5, button_payloads=5)
    with session_scope(session_factory) as session:
        purge_personal_data(session, now=NOW, retention=dataclasses.replace(short, leads=30))
    with session_factory() as session:
        assert held(session, "x") == {**NOTHING, "leads": 1}


def test_a_request_still_being_answered_is_kept(session_factory: sessionmaker[Session]) -> None:
    with session_scope(session_factory) as session:
        session.add(HandoffRequest(chat_id="busy", reason="help", context=[], status="active",
                                   created_at=ago(200)))
    with session_scope(session_factory) as session:
        assert purge_personal_data(session, now=NOW, retention=Retention())[
            "handoff_requests"] == 0


def test_an_ended_subscription_is_kept_for_its_retention_from_when_it_ended(
        session_factory: sessionmaker[Session]) -> None:
    with session_scope(session_factory) as session:
        subscribe_reminders(session, chat_id="sub", now=ago(300))
    with session_scope(session_factory) as session:
        assert unsubscribe(session, "sub", now=ago(10)) == 1
    with session_scope(session_factory) as session:  # active for 290 days, ended 10 days ago
        assert purge_personal_data(session, now=NOW, retention=Retention())[
            "reminder_subscriptions"] == 0
    with session_scope(session_factory) as session:
        assert purge_personal_data(session, now=NOW + dt.timedelta(days=21),
                                   retention=Retention())["reminder_subscriptions"] == 1


def rasa_tracker(path: Path) -> None:
    """Rasa's SQL tracker store's events table (timestamp: seconds since the epoch)."""
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255), "
                   "type_name VARCHAR(255), timestamp FLOAT, data TEXT)")
        db.executemany("INSERT INTO events (sender_id, type_name, timestamp, data) "
                       "VALUES (?, ?, ?, ?)",
                       [("old", "user", ago(91).timestamp(), "my email is sam@school.org"),
                        ("new", "user", ago(1).timestamp(), "hello")])


def test_rasa_conversations_are_purged_after_their_retention(tmp_path: Path) -> None:
    rasa_tracker(tmp_path / "tracker.db")
    engine = make_engine(f"sqlite:///{tmp_path / 'tracker.db'}")
    try:
        assert purge_conversations(engine, now=NOW, days=90) == 1
        assert purge_conversations(engine, now=NOW, days=90) == 0
    finally:
        engine.dispose()
    with sqlite3.connect(tmp_path / "tracker.db") as db:
        assert db.execute("SELECT sender_id FROM events").fetchall() == [("new",)]
    empty = make_engine(f"sqlite:///{tmp_path / 'new.db'}")  # Rasa has not started yet
    assert purge_conversations(empty, now=NOW, days=90) == 0
    empty.dispose()


def test_npq_purge_applies_every_retention_now(
        database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        ) -> None:
    engine = make_engine(database)
    with session_scope(make_session_factory(engine)) as session:
        fill(session, "old", dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=400))
    engine.dispose()
    tracker = Path(database.removeprefix("sqlite:///")).with_name("rasa-tracker.db")
    with sqlite3.connect(tracker) as db:
        db.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255), "
                   "timestamp FLOAT)")
        db.execute("INSERT INTO events (sender_id, timestamp) VALUES ('old', 1000.0)")
    monkeypatch.setenv("DATABASE_URL", database)
    monkeypatch.delenv("TRACKER_STORE_URL", raising=False)
    assert npq_cli.main(["purge"]) == 0
    printed = capsys.readouterr().out
    assert "leads: 1 removed" in printed and "conversation events: 1 removed" in printed
    with sqlite3.connect(tracker) as db:
        assert db.execute("SELECT count(*) FROM events").fetchone() == (0,)


RETENTION_SETTINGS = {
    "MESSAGE_RETENTION_DAYS": ("messages", 90), "CONVERSATION_RETENTION_DAYS": (
        "conversations", 90), "HANDOFF_RETENTION_DAYS": ("handoffs", 90),
    "LEAD_RETENTION_DAYS": ("leads", 365),
    "PARTNER_ENQUIRY_RETENTION_DAYS": ("partner_enquiries", 365),
    "ENDED_REMINDER_RETENTION_DAYS": ("ended_reminders", 30),
    "BUTTON_PAYLOAD_RETENTION_DAYS": ("button_payloads", 90),
    "LOG_RETENTION_DAYS": ("logs", 14),
}


@pytest.mark.parametrize("variable", sorted(RETENTION_SETTINGS))
def test_retention_settings_have_defaults_and_refuse_nonsense(variable: str) -> None:
    field, default = RETENTION_SETTINGS[variable]
    assert getattr(Settings.from_env({}).retention, field) == default
    assert getattr(Settings.from_env({variable: "7"}).retention, field) == 7
    for bad in ("0", "-1", "a week", "1.5"):
        with pytest.raises(ValueError, match=variable):
            Settings.from_env({variable: bad})


def test_the_readme_states_each_retention_in_its_privacy_table() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("\n## Privacy\n", 1)[1].split("\n## ", 1)[0]
    for variable, (_, default) in RETENTION_SETTINGS.items():
        [row] = [line for line in table.splitlines() if f"`{variable}`" in line]
        assert f"{default} days" in row, row
    for kind in ("message_log", "events", "handoff", "leads", "partner", "reminder",
                 "button_payloads", "pending_messages", "var/log", "reviewed.yml"):
        assert kind in table, kind
