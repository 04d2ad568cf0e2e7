"""How long each kind of personal data is kept, and the purge that removes what is older.

Every kind of personal data the assistant holds has a stated retention (a setting with a
default; the README's privacy table says what is kept, why and for how long):

| kind                         | setting                              | default |
|------------------------------|--------------------------------------|---------|
| message log text and replies | MESSAGE_RETENTION_DAYS               | 90 days |
| Rasa's conversations (events)| CONVERSATION_RETENTION_DAYS          | 90 days |
| handoff requests, excerpts   | HANDOFF_RETENTION_DAYS               | 90 days |
| leads (contact requests)     | LEAD_RETENTION_DAYS                  | 365 days|
| partner enquiries            | PARTNER_ENQUIRY_RETENTION_DAYS       | 365 days|
| ended reminder subscriptions | ENDED_REMINDER_RETENTION_DAYS        | 30 days |
| stored button payloads       | BUTTON_PAYLOAD_RETENTION_DAYS        | 90 days |
| kept messages                | PENDING_GIVE_UP_MINUTES, then a day  | 1 day   |
| log files (var/log)          | LOG_RETENTION_DAYS                   | 14 days |

The settings are read by npq.settings (`Settings.retention`). `purge_personal_data` applies
all of it to our database, `purge_conversations` to Rasa's SQL tracker store (plain SQL on its
documented `events` table; we never import rasa), and ops/logs.py ages out log files. The bot
runs the purge daily; `python -m npq purge` runs it now. The caller owns the session (and
commits); `now` is always a parameter.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, and_, delete, func, or_, select, text
from sqlalchemy.orm import Session

from npq.db.models import (
    ButtonPayload,
    HandoffMessage,
    HandoffRequest,
    Lead,
    PartnerEnquiry,
    PendingMessage,
    ReminderDelivery,
    ReminderSubscription,
)
from npq.message_log import purge_expired, utc

KEPT_BACKSTOP = dt.timedelta(days=1)  # kept messages the retry job never got to


@dataclass(frozen=True)
class Retention:
    """Days each kind of personal data is kept (see the module's table)."""

    messages: int = 90
    conversations: int = 90
    handoffs: int = 90
    leads: int = 365
    partner_enquiries: int = 365
    ended_reminders: int = 30
    button_payloads: int = 90
    logs: int = 14
    kept_messages: dt.timedelta = dt.timedelta(minutes=60)  # PENDING_GIVE_UP_MINUTES


def _before(now: dt.datetime, days: int) -> dt.datetime:
    return utc(now) - dt.timedelta(days=days)


def _count(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def purge_personal_data(session: Session, *, now: dt.datetime,
                        retention: Retention) -> dict[str, int]:
    """Remove every kind of personal data in our database older than its retention; how many
    rows of each kind went (message_log: rows whose text was removed)."""
    counts = {"message_log": purge_expired(session, now=now, days=retention.messages)}

    handoff_cutoff = _before(now, retention.handoffs)
    # a request still being answered stays until it ends; the rest go by their last change
    old_handoffs = select(HandoffRequest.id).where(
        HandoffRequest.status != "active",
        func.coalesce(HandoffRequest.closed_at, HandoffRequest.forwarded_at,
                      HandoffRequest.created_at) < handoff_cutoff)
    session.execute(delete(HandoffMessage).where(HandoffMessage.handoff_id.in_(old_handoffs))
                    .execution_options(synchronize_session=False))
    counts["handoff_requests"] = _count(session.execute(
        delete(HandoffRequest).where(HandoffRequest.id.in_(old_handoffs.scalar_subquery()))
        .execution_options(synchronize_session=False)))

    counts["leads"] = _count(session.execute(
        delete(Lead).where(Lead.consent_at < _before(now, retention.leads))
        .execution_options(synchronize_session=False)))
    counts["partner_enquiries"] = _count(session.execute(
        delete(PartnerEnquiry)
        .where(PartnerEnquiry.created_at < _before(now, retention.partner_enquiries))
        .execution_options(synchronize_session=False)))

    ended_cutoff = _before(now, retention.ended_reminders)
    ended = select(ReminderSubscription.id).where(
        ReminderSubscription.active.is_(False),
        or_(ReminderSubscription.ended_at < ended_cutoff,
            and_(ReminderSubscription.ended_at.is_(None),
                 ReminderSubscription.created_at < ended_cutoff)))
    session.execute(delete(ReminderDelivery)
                    .where(ReminderDelivery.subscription_id.in_(ended))
                    .execution_options(synchronize_session=False))
    counts["reminder_subscriptions"] = _count(session.execute(
        delete(ReminderSubscription).where(ReminderSubscription.id.in_(ended.scalar_subquery()))
        .execution_options(synchronize_session=False)))

    counts["button_payloads"] = _count(session.execute(
        delete(ButtonPayload)
        .where(ButtonPayload.created_at < _before(now, retention.button_payloads))
        .execution_options(synchronize_session=False)))
    kept_cutoff = utc(now) - retention.kept_messages - KEPT_BACKSTOP
    counts["pending_messages"] = _count(session.execute(
        delete(PendingMessage).where(PendingMessage.created_at < kept_cutoff)
        .execution_options(synchronize_session=False)))
    session.expire_all()
    return counts


PURGE_EVENTS = text("DELETE FROM events WHERE timestamp < :cutoff")


def purge_conversations(engine: Engine, *, now: dt.datetime, days: int) -> int:
    """Delete the events of Rasa's SQL tracker store older than `days` (its `timestamp` is
    seconds since the epoch); how many went. 0 when Rasa has not created the table yet."""
    cutoff = _before(now, days).timestamp()
    with engine.begin() as connection:
        if not engine.dialect.has_table(connection, "events"):
            return 0
        return _count(connection.execute(PURGE_EVENTS, {"cutoff": cutoff}))
