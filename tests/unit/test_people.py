"""The rows about a person, on SQLite and (with TEST_DATABASE_URL) PostgreSQL: each test commits
through the real session factory and reads back in a fresh session."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from npq.answers import Answer
from npq.db import session_scope
from npq.db.models import (
    Cohort,
    HandoffRequest,
    Lead,
    MessageLog,
    PartnerEnquiry,
    ReminderDelivery,
    ReminderSubscription,
)
from npq.handoffs import handoff_answer, record_handoff
from npq.intents import INTENTS
from npq.people import (
    Subscription,
    forget,
    forgotten_answer,
    lead_recorded_answer,
    no_consent_answer,
    record_lead,
    subscribe_reminders,
    subscribed_answer,
    unsubscribe,
    unsubscribed_answer,
    validate_email,
    validate_name,
)

NOW = dt.datetime(2026, 11, 22, 9, 15, tzinfo=dt.timezone.utc)
LATER = NOW + dt.timedelta(days=3)
TABLES = {"leads": Lead, "reminder_subscriptions": ReminderSubscription,
          "reminder_deliveries": ReminderDelivery, "partner_enquiries": PartnerEnquiry,
          "handoff_requests": HandoffRequest, "message_log": MessageLog}


def assert_phone_sized_with_buttons(answer: Answer) -> None:
    assert answer.text and len(answer.text) < 900
    assert answer.buttons
    for button in answer.buttons:
        assert button.intent in INTENTS and set(button.entities) <= {"npq"}


def count(session: Session, model: type, chat_id: str | None = None) -> int:
    query = select(func.count()).select_from(model)
    if chat_id is not None and hasattr(model, "chat_id"):
        query = query.where(model.chat_id == chat_id)  # type: ignore[attr-defined]
    return session.scalar(query) or 0


def aware(moment: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; PostgreSQL aware ones."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


# --- validation tables ------------------------------------------------------------------------

@pytest.mark.parametrize("text, email", [
    ("sam.patel@school.org.uk", "sam.patel@school.org.uk"),
    ("  Sam.Patel@School.ORG.UK ", "Sam.Patel@school.org.uk"),
    ("my email is head+npq@academy.sch.uk.", "head+npq@academy.sch.uk"),
    ("<a_b@trust.example>", "a_b@trust.example"),
    ("mailto:office@npq.example.org", "office@npq.example.org"),
    # spelt out so it isn't harvested: it was "That doesn't look like an email address"
    ("priya at school dot org", "priya@school.org"),
    ("sam [at] trust [dot] org [dot] uk", "sam@trust.org.uk"),
    ("jo.bloggs AT academy.sch.uk", "jo.bloggs@academy.sch.uk"),
])
def test_validate_email_accepts_and_normalises(text: str, email: str) -> None:
    assert validate_email(text) == email


@pytest.mark.parametrize("text", [
    None, "", "   ", "sam", "sam@", "@school.org", "sam@school", "sam@@school.org",
    "sam..patel@school.org", ".sam@school.org", "sam@-school.org", "sam patel@school.org",
    "a@b.org and c@d.org", "'; DROP TABLE leads;--@x.org", "🙂@school.org",
    "x" * 65 + "@school.org", "x@" + "y" * 4000 + ".org", "sam@school.c",
    "i am at school dot com today", "meet me at leeds dot",
])
def test_validate_email_rejects(text: str | None) -> None:
    assert validate_email(text) is None


@pytest.mark.parametrize("text, name", [
    ("Sam Patel", "Sam Patel"), ("sam patel", "Sam Patel"), ("SAM PATEL", "Sam Patel"),
    ("my name is Siobhán O'Neill-Smith", "Siobhán O'Neill-Smith"), ("I'm Jo", "Jo"),
    ("  Dr. Amara  Okafor ", "Dr. Amara Okafor"), ("it's McKenzie.", "McKenzie"),
    ("Zoë", "Zoë"), ("Peter", "Peter"), ("terry", "Terry"),
])
def test_validate_name_accepts_and_normalises(text: str, name: str) -> None:
    assert validate_name(text) == name


@pytest.mark.parametrize("text", [
    None, "", " ", "x", "yes", "No", "sam@school.org", "R2D2", "🙂🙂", "Sam 🙂",
    "'; DROP TABLE leads;--", "<script>alert(1)</script>", "a" * 4000,
    "one two three four five six seven",
    "asdf", "qwerty", "idk", "prefer not to say",  # the lead form kept "asdf" as a name
])
def test_validate_name_rejects(text: str | None) -> None:
    assert validate_name(text) is None


# --- leads ----------------------------------------------------------------------------------------

def test_record_lead_stores_consent_and_its_time(session_factory: sessionmaker[Session]) -> None:
    with session_scope(session_factory) as session:
        lead = record_lead(session, chat_id=1001, name="sam patel", email="Sam@School.ORG",
                           programme_code="headship", role="DHT", consent=True, now=NOW)
        answer = lead_recorded_answer(lead)
    with session_factory() as session:
        stored = session.scalars(select(Lead).where(Lead.chat_id == "1001")).one()
        assert (stored.name, stored.email, stored.programme_code, stored.role) == (
            "Sam Patel", "Sam@school.org", "NPQH", "deputy_head")
        assert stored.consent is True and aware(stored.consent_at) == NOW
    assert answer.text.startswith("Thank you, Sam. I've noted your interest in NPQH, and our team "
                                  "will email you at Sam@school.org.")
    assert "forget your details" in answer.text
    assert (answer.buttons[0].intent, answer.buttons[0].entities) == (
        "subscribe_reminders", {"npq": "NPQH"})
    assert_phone_sized_with_buttons(answer)


def test_the_same_lead_twice_is_one_row_with_fresh_consent(
        session_factory: sessionmaker[Session]) -> None:
    for moment in (NOW, LATER):
        with session_scope(session_factory) as session:
            record_lead(session, chat_id="77", name="Jo Bloggs", email="jo@school.org",
                        programme_code="NPQSENCO", role="senco", consent=True, now=moment)
    with session_scope(session_factory) as session:
        record_lead(session, chat_id="77", name="Jo Bloggs", email="jo@school.org",
                    programme_code=None, role="unknown job", consent=True, now=LATER)
    with session_factory() as session:
        leads = session.scalars(select(Lead).where(Lead.chat_id == "77")
                                .order_by(Lead.id)).all()
        assert [(lead.programme_code, lead.role) for lead in leads] == [
            ("NPQSENCO", "senco"), (None, None)]
        assert aware(leads[0].consent_at) == LATER


@pytest.mark.parametrize("changes", [
    {"consent": False}, {"consent": None}, {"email": "not an email"}, {"name": "🙂"},
    {"chat_id": ""}, {"chat_id": None},
])
def test_record_lead_refuses_bad_input_and_writes_nothing(
        session_factory: sessionmaker[Session], changes: dict) -> None:
    fields = {"chat_id": "55", "name": "Sam Patel", "email": "sam@school.org",
              "programme_code": "NPQH", "role": None, "consent": True, "now": NOW, **changes}
    with session_factory() as session:
        with pytest.raises(ValueError):
            record_lead(session, **fields)
        session.rollback()
    with session_factory() as session:
        assert count(session, Lead) == 0


def test_no_consent_answer_says_nothing_was_kept() -> None:
    answer = no_consent_answer()
    assert "I haven't kept your details" in answer.text
    assert_phone_sized_with_buttons(answer)


# --- reminders ----------------------------------------------------------------------------------

def test_subscribing_twice_is_one_row_and_reactivates(
        session_factory: sessionmaker[Session]) -> None:
    changes = []
    for _ in range(2):
        with session_scope(session_factory) as session:
            changes.append(subscribe_reminders(session, chat_id=9, programme_code="NPQH",
                                               intake="2027b", now=NOW).change)
    with session_scope(session_factory) as session:
        assert unsubscribe(session, 9) == 1
    with session_scope(session_factory) as session:
        again = subscribe_reminders(session, chat_id="9", programme_code="npqh", intake="2027b",
                                    now=LATER)
        changes.append(again.change)
        answer = subscribed_answer(again)
    assert changes == ["created", "unchanged", "reactivated"]
    with session_factory() as session:
        rows = session.scalars(select(ReminderSubscription)
                               .where(ReminderSubscription.chat_id == "9")).all()
        assert len(rows) == 1 and rows[0].active
    assert answer.text.startswith("Welcome back: your NPQH deadline reminders for autumn 2027 are "
                                  "on again. Reminders come 14, 3 and 1 days before each deadline.")
    assert_phone_sized_with_buttons(answer)


def test_subscriptions_with_no_programme_or_intake_are_also_idempotent(
        session_factory: sessionmaker[Session]) -> None:
    for _ in range(3):
        with session_scope(session_factory) as session:
            result = subscribe_reminders(session, chat_id=10, now=NOW)
    with session_scope(session_factory) as session:
        subscribe_reminders(session, chat_id=10, programme_code="NPQLT", now=NOW)
    with session_factory() as session:
        assert count(session, ReminderSubscription, "10") == 2
    assert subscribed_answer(result).text.startswith(
        "You're already signed up for NPQ deadline reminders.")


@pytest.mark.parametrize("kwargs", [
    {"programme_code": "NPQML"}, {"programme_code": "banana"}, {"intake": "spring"},
    {"intake": "2027c"}, {"chat_id": "  "},
])
def test_subscribe_refuses_bad_input(session: Session, kwargs: dict) -> None:
    fields = {"chat_id": 11, "now": NOW, **kwargs}
    with pytest.raises(ValueError):
        subscribe_reminders(session, **fields)


def test_the_first_subscription_answer(session: Session) -> None:
    result = subscribe_reminders(session, chat_id=12, programme_code="NPQEYL", now=NOW)
    assert result.change == "created"
    answer = subscribed_answer(result)
    assert answer.text == ("Done: I'll remind you here 14, 3 and 1 days before NPQEYL deadlines. "
                           "Say \"stop reminders\" at any time.")
    assert subscribed_answer(result, days=(7,)).text.startswith(
        "Done: I'll remind you here 7 days before NPQEYL deadlines.")
    assert subscribed_answer(result, days=(1,)).text.startswith(
        "Done: I'll remind you here 1 day before NPQEYL deadlines.")
    assert [b.intent for b in answer.buttons] == ["ask_deadlines", "unsubscribe"]


def test_unsubscribe_counts_only_active_subscriptions_of_this_chat(
        session_factory: sessionmaker[Session]) -> None:
    with session_scope(session_factory) as session:
        for code in ("NPQH", "NPQSL", "NPQEL"):
            subscribe_reminders(session, chat_id=20, programme_code=code, now=NOW)
        subscribe_reminders(session, chat_id=21, programme_code="NPQH", now=NOW)
    with session_scope(session_factory) as session:
        assert unsubscribe(session, 20) == 3
    with session_scope(session_factory) as session:
        assert unsubscribe(session, 20) == 0
    with session_factory() as session:
        active = session.scalars(select(ReminderSubscription.chat_id)
                                 .where(ReminderSubscription.active)).all()
        assert active == ["21"]
    assert unsubscribed_answer(3).text.startswith("Done: I've switched off 3 reminder "
                                                  "subscriptions.")
    assert unsubscribed_answer(1).text.startswith("Done: I've switched off 1 reminder "
                                                  "subscription.")
    assert unsubscribed_answer(0).text == "You didn't have any reminders switched on."


# --- forget -------------------------------------------------------------------------------------

def fill_every_table(session: Session, chat_id: str) -> None:
    record_lead(session, chat_id=chat_id, name="Ann Lee", email=f"ann{chat_id}@school.org",
                programme_code="NPQH", role=None, consent=True, now=NOW)
    subscription = subscribe_reminders(session, chat_id=chat_id, programme_code="NPQH",
                                       now=NOW).row
    subscribe_reminders(session, chat_id=chat_id, now=NOW)
    cohorts = session.scalars(select(Cohort).limit(2)).all()
    session.add_all(ReminderDelivery(subscription_id=subscription.id, cohort_id=c.id,
                                     days_before=14, sent_at=NOW) for c in cohorts)
    session.add(PartnerEnquiry(chat_id=chat_id, answers={}, assessment={}, created_at=NOW))
    record_handoff(session, chat_id=chat_id, reason="question", context=["hi"], now=NOW)
    session.add_all(MessageLog(chat_id=chat_id, text=f"message {n}", entities=[], created_at=NOW)
                    for n in range(3))
    session.flush()


def test_forget_erases_every_row_about_the_user_and_nobody_elses(
        session_factory: sessionmaker[Session]) -> None:
    with session_scope(session_factory) as session:
        fill_every_table(session, "300")
        fill_every_table(session, "301")
    with session_scope(session_factory) as session:
        counts = forget(session, 300)
        answer = forgotten_answer(counts)
    assert counts == {"leads": 1, "reminder_deliveries": 2, "reminder_subscriptions": 2,
                      "partner_enquiries": 1, "handoff_requests": 1, "message_log": 3}
    with session_factory() as session:
        for table, model in TABLES.items():
            if table != "reminder_deliveries":
                assert count(session, model, "300") == 0, table
                assert count(session, model, "301") > 0, table
        assert count(session, ReminderDelivery) == 2  # the other user's
    assert answer.text.startswith("I've deleted the details I held about you (1 contact "
                                  "request, 2 reminders sent, 2 reminder subscriptions,")
    assert "3 messages in our log" in answer.text
    assert_phone_sized_with_buttons(answer)


def test_forgetting_twice_finds_nothing_the_second_time(
        session_factory: sessionmaker[Session]) -> None:
    with session_scope(session_factory) as session:
        fill_every_table(session, "400")
    with session_scope(session_factory) as session:
        assert sum(forget(session, "400").values()) == 10
    with session_scope(session_factory) as session:
        counts = forget(session, "400")
    assert set(counts.values()) == {0} and set(counts) == set(TABLES)
    assert forgotten_answer(counts).text == ("I didn't hold any other details about you. Now "
                                             "deleting our conversation…")


@pytest.mark.parametrize("chat_id", ["'; DROP TABLE leads;--", "🙂", "x" * 4000])
def test_forget_with_odd_chat_ids_is_harmless(session_factory: sessionmaker[Session],
                                              chat_id: str) -> None:
    with session_scope(session_factory) as session:
        fill_every_table(session, "500")
        assert sum(forget(session, chat_id).values()) == 0
    with session_factory() as session:
        assert count(session, Lead, "500") == 1


# --- handoff --------------------------------------------------------------------------------------

def test_record_handoff_keeps_the_recent_context(session_factory: sessionmaker[Session]) -> None:
    context = [f"message {n}" for n in range(30)] + [{"user": "y" * 5000}, float("nan")]
    with session_scope(session_factory) as session:
        request = record_handoff(session, chat_id=600, reason="  I need help with funding  ",
                                 context=context, now=NOW)
        request_id = request.id
    with session_factory() as session:
        stored = session.get(HandoffRequest, request_id)
        assert stored is not None
        assert (stored.chat_id, stored.reason, stored.status) == (
            "600", "I need help with funding", "open")
        assert len(stored.context) == 20 and stored.context[0] == "message 12"
        assert len(stored.context[-2]["user"]) == 1000 and stored.context[-1] == "nan"
        assert aware(stored.created_at) == NOW


def test_handoff_with_no_reason_or_context(session: Session) -> None:
    request = record_handoff(session, chat_id="601", reason="   ", context=None, now=NOW)
    assert request.reason is None and request.context == []


def test_handoff_answer_gives_the_office_contact() -> None:
    """Regression: the reply had no full stop and gave the office hours, which the front end
    then gave again."""
    answer = handoff_answer("npq@office.example.org")
    assert answer.text == ("I've passed your question to our team. You can also contact our "
                           "office: npq@office.example.org.")
    assert_phone_sized_with_buttons(answer)
    assert handoff_answer("").text == "I've passed your question to our team."


def test_subscription_result_is_a_plain_value(session: Session) -> None:
    result = subscribe_reminders(session, chat_id=700, now=NOW)
    assert isinstance(result, Subscription) and result.row.id is not None
