"""Deadline reminders: which are due on a day (pure, `today` is a parameter), their wording, and
claiming them in the database so each is sent once, whatever restarts or replicas.

A subscription is for a programme and/or an intake, or for every current programme. Hubs close
on different dates, so the deadline of a (programme, intake) pair is its earliest closing date
still to come. Each stage (REMINDER_DAYS, e.g. 14, 3 and 1 days before) goes out at most once
per subscription and pair, never after a nearer stage, and never for a stage that had begun
when the person subscribed (they have just read the deadlines). After downtime only the nearest
stage reached is sent, not every missed one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from npq.answers import Answer, Button, intake_label, long_date
from npq.db.models import Cohort, Programme, ReminderDelivery, ReminderSubscription
from npq.deadlines import days_phrase

STALE_CLAIM = dt.timedelta(minutes=10)  # a sender that died mid-send: let another retry


@dataclass(frozen=True)
class Subscriber:
    id: int
    chat_id: str
    programme_code: str | None
    intake: str | None
    since: dt.date


@dataclass(frozen=True)
class Closing:
    """One cohort's application window, as far as reminders care."""

    cohort_id: int
    programme_code: str
    programme_name: str
    intake: str
    opens: dt.date
    closes: dt.date


@dataclass(frozen=True)
class Due:
    subscription_id: int
    chat_id: str
    stage: int  # days before the deadline
    closing: Closing  # the earliest closing of its (programme, intake) still to come
    closing_that_day: int  # how many cohorts of the pair close that day
    last_closes: dt.date  # when the pair's last cohort closes


SentStage = tuple[int, str, str, int]  # subscription id, programme, intake, stage


def due_reminders(subscribers: Iterable[Subscriber], closings: Iterable[Closing],
                  sent: Collection[SentStage], today: dt.date,
                  days: Collection[int]) -> list[Due]:
    """The reminders to send on `today`, in subscription then deadline order."""
    pairs: dict[tuple[str, str], list[Closing]] = {}
    for closing in closings:
        if closing.closes >= today:
            pairs.setdefault((closing.programme_code, closing.intake), []).append(closing)
    done: dict[tuple[int, str, str], set[int]] = {}
    for subscription_id, programme, intake, stage in sent:
        done.setdefault((subscription_id, programme, intake), set()).add(stage)
    due = []
    for sub in sorted(subscribers, key=lambda s: s.id):
        for (programme, intake), cohorts in sorted(pairs.items()):
            if sub.programme_code not in (None, programme) or sub.intake not in (None, intake):
                continue
            first = min(cohorts, key=lambda c: (c.closes, c.cohort_id))
            left = (first.closes - today).days
            reached = [d for d in days if left <= d]
            if not reached:
                continue
            stage = min(reached)
            if sub.since >= first.closes - dt.timedelta(days=stage):
                continue  # subscribed once this stage had begun
            if any(s <= stage for s in done.get((sub.id, programme, intake), ())):
                continue
            due.append(Due(sub.id, sub.chat_id, stage, first,
                           sum(c.closes == first.closes for c in cohorts),
                           max(c.closes for c in cohorts)))
    return due


def reminder_answer(items: list[Due], today: dt.date) -> Answer:
    """One message for one chat, however many deadlines are due for it today."""
    seen, lines = set(), []
    for item in sorted(items, key=lambda d: (d.closing.closes, d.closing.programme_code)):
        c = item.closing
        if (c.programme_code, c.intake) in seen:
            continue
        seen.add((c.programme_code, c.intake))
        when = f"{days_phrase(c.closes, today)} ({long_date(c.closes)})"
        line = f"{c.programme_code} ({c.programme_name}), {intake_label(c.intake)}: "
        if item.closing_that_day == 1 and item.last_closes == c.closes:
            line += f"applications close {when}."
        else:
            line += f"the first hubs stop taking applications {when}"
            line += (f"; others close by {long_date(item.last_closes)}."
                     if item.last_closes > c.closes else ".")
        if c.opens > today:
            line += f" Applications open {long_date(c.opens)}."
        lines.append(f"• {line}")
    codes = {code for code, _ in seen}
    extra = {"npq": next(iter(codes))} if len(codes) == 1 else {}
    return Answer("⏰ Deadline reminder\n\n" + "\n".join(lines) + "\n\nCheck the date for your "
                  "hub, and apply through the DfE registration service.",
                  (Button("How do I apply?", "how_to_apply", extra),
                   Button("See deadlines", "ask_deadlines", extra),
                   Button("Stop reminders", "unsubscribe")))


# --- the database ---------------------------------------------------------------------------

def due_on(session: Session, today: dt.date, days: Collection[int],
           now: dt.datetime) -> list[Due]:
    """The reminders due on `today` from the active subscriptions and current cohorts. A claim
    left "sending" for longer than STALE_CLAIM counts as not sent, so it is tried again."""
    subscribers = [Subscriber(s.id, s.chat_id, s.programme_code, s.intake, s.created_at.date())
                   for s in session.scalars(select(ReminderSubscription)
                                            .where(ReminderSubscription.active))]
    if not subscribers:
        return []
    rows = session.execute(
        select(Cohort, Programme.name).join(Programme)
        .where(Programme.status == "current", Cohort.applications_close >= today))
    closings = [Closing(c.id, c.programme_code, name, c.intake, c.applications_open,
                        c.applications_close) for c, name in rows]
    stale = now - STALE_CLAIM
    sent = session.execute(
        select(ReminderDelivery.subscription_id, Cohort.programme_code, Cohort.intake,
               ReminderDelivery.days_before, ReminderDelivery.status, ReminderDelivery.sent_at)
        .join(Cohort, Cohort.id == ReminderDelivery.cohort_id))
    stages = [(sid, code, intake, days_before) for sid, code, intake, days_before, status, at
              in sent if status != "sending" or _aware(at) > stale]
    return due_reminders(subscribers, closings, stages, today, days)


def claim(session: Session, due: Due, now: dt.datetime) -> int | None:
    """Take the right to send `due`: the delivery row's id, or None when another sender has it
    (the unique constraint decides between replicas). Commit before sending."""
    key = (ReminderDelivery.subscription_id == due.subscription_id,
           ReminderDelivery.cohort_id == due.closing.cohort_id,
           ReminderDelivery.days_before == due.stage)
    existing = session.scalars(select(ReminderDelivery).where(*key)).first()
    if existing is None:
        row = ReminderDelivery(subscription_id=due.subscription_id,
                               cohort_id=due.closing.cohort_id, days_before=due.stage,
                               status="sending", sent_at=now)
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            return None
        return row.id
    taken = session.execute(
        update(ReminderDelivery)
        .where(ReminderDelivery.id == existing.id, ReminderDelivery.status == "sending",
               ReminderDelivery.sent_at < now - STALE_CLAIM)
        .values(sent_at=now).execution_options(synchronize_session=False))
    return existing.id if taken.rowcount == 1 else None  # type: ignore[attr-defined]


def finish(session: Session, delivery_ids: Iterable[int], *, status: str,
           now: dt.datetime) -> None:
    """Record the outcome: "sent", or "failed" for a chat that cannot be reached."""
    session.execute(update(ReminderDelivery).where(ReminderDelivery.id.in_(list(delivery_ids)))
                    .values(status=status, sent_at=now).execution_options(
                        synchronize_session=False))


def release(session: Session, delivery_ids: Iterable[int]) -> None:
    """Give claims back after a failure worth retrying (the next pass tries again)."""
    for row in session.scalars(select(ReminderDelivery)
                               .where(ReminderDelivery.id.in_(list(delivery_ids)),
                                      ReminderDelivery.status == "sending")):
        session.delete(row)


def _aware(moment: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; they were stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
