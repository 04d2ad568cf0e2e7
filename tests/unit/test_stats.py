"""The staff report (npq/stats.py): figures from a known set of rows, days in England's time,
the text and the chart; on SQLite and (with TEST_DATABASE_URL) PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from npq.db.models import Cohort, Lead, PartnerEnquiry, ReminderDelivery, ReminderSubscription
from npq.message_log import purge_expired, record_feedback, record_turn
from npq.stats import chart_png, collect_stats, format_stats

# 10:00 in London (BST is over: GMT) on Sunday 22 November 2026.
NOW = dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.timezone.utc)
DAY = dt.timedelta(days=1)


def message(session: Session, at: dt.datetime, intent: str, confidence: float = 0.9,
            text: str = "a message") -> int:
    row = record_turn(session, chat_id="c", text=text, reply="r", now=at, threshold=0.4,
                      parse={"intent": {"name": intent, "confidence": confidence}})
    return row.id


@pytest.fixture
def busy(session: Session) -> Session:
    """Seven days of messages, leads, reminders and enquiries, and some outside the window."""
    for n in range(3):
        message(session, NOW - dt.timedelta(hours=n), "find_hub")
    message(session, NOW - dt.timedelta(hours=1), "nlu_fallback", 0.4, "asdf")
    message(session, NOW - dt.timedelta(hours=2), "nlu_fallback", 0.4, "asdf")
    message(session, NOW - DAY, "programme_info")
    liked = message(session, NOW - DAY, "greet")
    disliked = message(session, NOW - 2 * DAY, "out_of_scope", 0.95, "weather?")
    # In November London is on GMT: 23:30 UTC on the 16th is the window's first day, and a
    # minute before midnight on the 15th is outside it.
    message(session, dt.datetime(2026, 11, 16, 23, 30, tzinfo=dt.timezone.utc), "find_hub")
    message(session, dt.datetime(2026, 11, 15, 23, 59, tzinfo=dt.timezone.utc), "find_hub")
    message(session, NOW - 100 * DAY, "find_hub")  # outside the window (and purged)
    record_feedback(session, liked, "c", up=True)
    record_feedback(session, disliked, "c", up=False)

    consent = NOW - DAY
    session.add_all([Lead(chat_id="c", name="Jo", email="jo@example.org", consent=True,
                          consent_at=consent, created_at=NOW - DAY),
                     Lead(chat_id="d", name="Al", email="al@example.org", consent=True,
                          consent_at=consent, created_at=NOW - 40 * DAY)])
    subscription = ReminderSubscription(chat_id="c")
    session.add(subscription)
    session.flush()
    cohorts = session.scalars(select(Cohort.id).limit(3)).all()
    session.add_all([
        ReminderDelivery(subscription_id=subscription.id, cohort_id=cohorts[0], days_before=14,
                         sent_at=NOW - DAY, status="sent"),
        ReminderDelivery(subscription_id=subscription.id, cohort_id=cohorts[1], days_before=14,
                         sent_at=NOW - DAY, status="failed"),
        ReminderDelivery(subscription_id=subscription.id, cohort_id=cohorts[2], days_before=14,
                         sent_at=NOW - 9 * DAY, status="sent")])
    session.add_all([PartnerEnquiry(chat_id="c", created_at=NOW - 3 * DAY),
                     PartnerEnquiry(chat_id="e", created_at=NOW - 8 * DAY)])
    session.commit()
    purge_expired(session, now=NOW, days=90)
    session.commit()
    return session


def test_the_figures_of_a_known_week(busy: Session) -> None:
    stats = collect_stats(busy, now=NOW, days=7)
    assert (stats.first_day, stats.last_day) == (dt.date(2026, 11, 16), dt.date(2026, 11, 22))
    assert dict(stats.per_day) == {
        dt.date(2026, 11, 16): 1, dt.date(2026, 11, 17): 0, dt.date(2026, 11, 18): 0,
        dt.date(2026, 11, 19): 0, dt.date(2026, 11, 20): 1, dt.date(2026, 11, 21): 2,
        dt.date(2026, 11, 22): 5}
    assert stats.messages == 9
    assert stats.top_intents[0] == ("find_hub", 4)
    assert dict(stats.top_intents) == {"find_hub": 4, "programme_info": 1, "greet": 1,
                                       "out_of_scope": 1}
    assert (stats.fallbacks, stats.fallback_rate) == (2, pytest.approx(2 / 9))
    assert (stats.out_of_scope, stats.thumbs_up, stats.thumbs_down) == (1, 1, 1)
    assert stats.review_queue == 2  # "asdf" twice is one item; "weather?" the other
    assert (stats.leads, stats.reminders_sent, stats.partner_enquiries) == (1, 1, 1)


def test_a_longer_period_counts_more(busy: Session) -> None:
    stats = collect_stats(busy, now=NOW, days=30)
    assert len(stats.per_day) == 30 and stats.messages == 10
    assert (stats.reminders_sent, stats.partner_enquiries, stats.leads) == (2, 2, 1)


def test_a_quiet_database_reports_zeros(session: Session) -> None:
    stats = collect_stats(session, now=NOW, days=1)
    assert (stats.messages, stats.fallback_rate, stats.review_queue) == (0, 0.0, 0)
    assert "none yet" in format_stats(stats)


def test_the_text_report(busy: Session) -> None:
    text = format_stats(collect_stats(busy, now=NOW, days=7))
    assert "Last 7 days (16 Nov to 22 Nov 2026)" in text
    assert "Messages: 9 (1.3 a day; busiest Sun 22 Nov: 5)" in text
    assert "Not understood (fallback): 2 (22.2%)" in text
    assert "Waiting for review: 2" in text and "Leads: 1" in text
    assert "Reminders sent: 1" in text and "Partner enquiries: 1" in text
    assert "  find_hub: 4" in text


def test_the_chart_is_a_png(busy: Session) -> None:
    png = chart_png(collect_stats(busy, now=NOW, days=7))
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000


def test_days_are_days_in_england(session: Session) -> None:
    summer_night = dt.datetime(2026, 6, 30, 23, 30, tzinfo=dt.timezone.utc)  # 00:30 BST, 1 July
    message(session, summer_night, "greet")
    session.commit()
    stats = collect_stats(session, now=summer_night + dt.timedelta(hours=1), days=2)
    assert dict(stats.per_day) == {dt.date(2026, 6, 30): 0, dt.date(2026, 7, 1): 1}


def test_days_must_be_positive(session: Session) -> None:
    with pytest.raises(ValueError):
        collect_stats(session, now=NOW, days=0)
