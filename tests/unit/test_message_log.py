"""The message log (npq/message_log.py): every turn with what the model made of it, thumbs up
and down, and the retention purge, on SQLite and (with TEST_DATABASE_URL) PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.orm import Session

from npq.db import make_engine
from npq.db.models import Base, MessageLog
from npq.message_log import (
    purge_expired,
    record_feedback,
    record_turn,
    retention_days,
    review_reason,
    top_intents,
)
from npq.review_queue import review_queue
from tests.support.logged_turns import HOSTILE, NOW, THRESHOLD, parse, turn

# --- needs review -------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "confidence", "reason"), [
    ("nlu_fallback", 0.4, "fallback"),
    ("out_of_scope", 0.97, "out_of_scope"),
    ("find_hub", 0.39, "low_confidence"),
    ("find_hub", 0.4, None),
    ("greet", 1.0, None),
    (None, None, "low_confidence"),
])
def test_review_reason(name: str | None, confidence: float | None, reason: str | None) -> None:
    message = {"intent": {"name": name, "confidence": confidence}} if name else {}
    assert review_reason(message, THRESHOLD) == reason


def test_top_intents_leave_out_the_fallback_and_are_best_first() -> None:
    message = parse("nlu_fallback", 0.4, ("nlu_fallback", 0.4), ("partner_benefits", 0.27),
                    ("find_hub", 0.34))
    assert top_intents(message) == [{"name": "find_hub", "confidence": 0.34},
                                     {"name": "partner_benefits", "confidence": 0.27}]


def test_record_turn_keeps_the_parse_and_decides_review(session: Session) -> None:
    entities = [{"entity": "location", "value": "Leeds", "start": 20, "end": 25,
                 "extractor": "CRFEntityExtractor", "confidence_entity": 0.99}]
    unsure = record_turn(session, chat_id=42, text="is there a hub near Leeds", reply="Hubs...",
                         now=NOW, threshold=THRESHOLD,
                         parse=parse("nlu_fallback", 0.4, ("nlu_fallback", 0.4),
                                     ("find_hub", 0.38), ("inform", 0.31), entities=entities))
    sure = turn(session, "hello", "greet", 0.99)
    session.commit()
    session.expire_all()
    row = session.get(MessageLog, unsure.id)
    assert row is not None and row.needs_review and row.chat_id == "42"
    assert (row.intent, row.confidence, row.reply) == ("nlu_fallback", 0.4, "Hubs...")
    assert row.ranking == [{"name": "find_hub", "confidence": 0.38},
                           {"name": "inform", "confidence": 0.31}]
    assert row.entities == [{"entity": "location", "value": "Leeds", "start": 20, "end": 25}]
    assert row.created_at.replace(tzinfo=dt.timezone.utc) == NOW
    assert not session.get(MessageLog, sure.id).needs_review  # type: ignore[union-attr]


def test_record_turn_cuts_very_long_text(session: Session) -> None:
    row = turn(session, "x" * 10_000)
    assert len(row.text or "") == 4096


def test_record_turn_stores_any_text(session: Session) -> None:
    for text in HOSTILE:
        turn(session, text, chat="hostile")
    session.commit()
    session.expire_all()
    stored = session.scalars(select(MessageLog.text).where(MessageLog.chat_id == "hostile")
                             .order_by(MessageLog.id)).all()
    assert len(stored) == len(HOSTILE)
    assert stored[HOSTILE.index("\ud800 lone surrogate")] == "? lone surrogate"
    assert stored[HOSTILE.index("emoji 😀 👩‍🏫 🫠 🇬🇧 and a BOM \ufeff here")] == HOSTILE[11]
    assert not any("\x00" in text for text in stored)  # PostgreSQL refuses NUL


# --- retention ----------------------------------------------------------------------------------

def test_purge_removes_what_people_wrote_after_the_retention_period(session: Session) -> None:
    old = turn(session, "my email is jo@example.org", at=NOW - dt.timedelta(days=91))
    edge = turn(session, "still kept", at=NOW - dt.timedelta(days=89, hours=23))
    recent = turn(session, "hello there", "greet", 0.99, at=NOW - dt.timedelta(days=1))
    session.commit()

    assert purge_expired(session, now=NOW, days=90) == 1
    session.commit()
    purged, kept, fresh = (session.get(MessageLog, r.id) for r in (old, edge, recent))
    assert purged is not None and kept is not None and fresh is not None
    assert (purged.text, purged.reply, purged.entities, purged.chat_id) == (None, None, [], "")
    assert not purged.needs_review and purged.intent == "nlu_fallback"  # counted in /stats
    assert (kept.text, kept.chat_id, fresh.text) == ("still kept", "chat-1", "hello there")
    assert purge_expired(session, now=NOW, days=90) == 0  # nothing left to purge
    assert [item.text for item in review_queue(session)] == ["still kept"]


def test_purge_compares_in_utc_whatever_zone_now_is_in(session: Session) -> None:
    turn(session, "old", at=NOW - dt.timedelta(days=30, minutes=1))
    session.commit()
    london_now = NOW.astimezone(dt.timezone(dt.timedelta(hours=1)))
    assert purge_expired(session, now=london_now, days=30) == 1


@pytest.mark.parametrize(("value", "days"), [("", 90), ("30", 30), ("365", 365)])
def test_retention_days_setting(value: str, days: int) -> None:
    assert retention_days({"MESSAGE_RETENTION_DAYS": value}) == days


@pytest.mark.parametrize("value", ["0", "-5", "ninety", "1.5"])
def test_retention_days_refuses_nonsense(value: str) -> None:
    with pytest.raises(ValueError, match="MESSAGE_RETENTION_DAYS"):
        retention_days({"MESSAGE_RETENTION_DAYS": value})


# --- feedback -----------------------------------------------------------------------------------

def test_thumbs_down_queues_the_message_and_thumbs_up_does_not(session: Session) -> None:
    liked = turn(session, "where is my nearest hub", "find_hub", 0.95)
    disliked = turn(session, "gimme the lowdown on headship", "inform", 0.52)
    session.commit()
    assert record_feedback(session, liked.id, "chat-1", up=True)
    assert record_feedback(session, disliked.id, "chat-1", up=False)
    session.commit()
    assert (liked.feedback, liked.needs_review) == ("up", False)
    assert (disliked.feedback, disliked.needs_review) == ("down", True)
    [item] = review_queue(session)
    assert item.text == "gimme the lowdown on headship" and item.reasons == ("unhelpful",)


def test_feedback_only_from_the_chat_that_sent_it(session: Session) -> None:
    row = turn(session, "hello", "greet", 0.99)
    session.commit()
    assert not record_feedback(session, row.id, "someone-else", up=False)
    assert not record_feedback(session, row.id + 1000, "chat-1", up=False)
    assert row.feedback is None and not row.needs_review


def test_migrations_match_the_models(seeded_url: str) -> None:
    engine = make_engine(seeded_url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []


def test_contact_details_typed_into_a_message_are_not_kept_in_the_log(session: Session) -> None:
    """The log is for counting and reviewing questions: 'call me on 07700 900123 or
    jo@school.org.uk' kept both for 90 days (the lead form stores them, with consent)."""
    row = record_turn(session, chat_id="c", text="call me on 07700 900123 or jo@school.org.uk",
                      parse=parse("talk_to_human", 0.9), now=NOW, threshold=THRESHOLD,
                      reply="our team will email you at jo@school.org.uk")
    session.commit()
    assert row.text == "call me on [phone] or [email]"
    assert row.reply == "our team will email you at [email]"
    assert turn(session, "is NPQH 18 months? ring 0113 496 0000").text == (
        "is NPQH 18 months? ring [phone]")
    assert turn(session, "it's priya at school dot org").text == "it's [email]"
    assert turn(session, "are the sessions at school or online").text == (
        "are the sessions at school or online")
