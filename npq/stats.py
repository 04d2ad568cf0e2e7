"""The staff report (/stats, `python -m npq stats`): messages per day, what people ask, how
often the model falls back, the review queue, leads, reminders sent and partner enquiries.

`collect_stats` reads the database for the `days` up to `now` (days in England's time);
`format_stats` and `chart_png` only present the numbers.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from npq.db.models import Lead, MessageLog, PartnerEnquiry, ReminderDelivery
from npq.intents import FALLBACK, OUT_OF_SCOPE
from npq.message_log import utc
from npq.review_queue import queue_size

ENGLAND = ZoneInfo("Europe/London")


@dataclass(frozen=True)
class Stats:
    first_day: dt.date
    last_day: dt.date
    per_day: tuple[tuple[dt.date, int], ...]  # every day of the period, quiet ones too
    top_intents: tuple[tuple[str, int], ...]  # most asked first (nlu_fallback not included)
    messages: int
    fallbacks: int
    out_of_scope: int
    thumbs_up: int
    thumbs_down: int
    review_queue: int
    leads: int
    reminders_sent: int
    partner_enquiries: int

    @property
    def fallback_rate(self) -> float:
        return self.fallbacks / self.messages if self.messages else 0.0


def collect_stats(session: Session, *, now: dt.datetime, days: int = 30, top: int = 8) -> Stats:
    """The figures for the `days` days ending today (in England), today included."""
    if days < 1:
        raise ValueError("days must be at least 1")
    last_day = utc(now).astimezone(ENGLAND).date()
    first_day = last_day - dt.timedelta(days=days - 1)
    since = dt.datetime.combine(first_day, dt.time(), ENGLAND).astimezone(dt.timezone.utc)
    until = utc(now)
    rows = session.execute(select(MessageLog.created_at, MessageLog.intent, MessageLog.feedback)
                           .where(MessageLog.created_at >= since,
                                  MessageLog.created_at <= until)).all()
    per_day = Counter(utc(created).astimezone(ENGLAND).date() for created, _, _ in rows)
    intents = Counter(intent for _, intent, _ in rows if intent and intent != FALLBACK)
    feedback = Counter(fb for _, _, fb in rows if fb)

    def count(column: Any, *where: Any) -> int:
        return int(session.scalar(select(func.count()).where(
            column >= since, column <= until, *where)) or 0)

    return Stats(
        first_day=first_day, last_day=last_day,
        per_day=tuple((first_day + dt.timedelta(days=n), per_day[first_day + dt.timedelta(days=n)])
                      for n in range(days)),
        top_intents=tuple(intents.most_common(top)),
        messages=len(rows),
        fallbacks=sum(1 for _, intent, _ in rows if intent == FALLBACK),
        out_of_scope=sum(1 for _, intent, _ in rows if intent == OUT_OF_SCOPE),
        thumbs_up=feedback["up"], thumbs_down=feedback["down"],
        review_queue=queue_size(session),
        leads=count(Lead.created_at),
        reminders_sent=count(ReminderDelivery.sent_at, ReminderDelivery.status == "sent"),
        partner_enquiries=count(PartnerEnquiry.created_at),
    )


def format_stats(stats: Stats) -> str:
    """The report as plain text (fits a Telegram message)."""
    days = len(stats.per_day)
    busiest = max(stats.per_day, key=lambda d: (d[1], d[0]))
    lines = [
        f"Last {days} days ({stats.first_day:%d %b} to {stats.last_day:%d %b %Y})",
        f"Messages: {stats.messages} ({stats.messages / days:.1f} a day; "
        f"busiest {busiest[0]:%a %d %b}: {busiest[1]})",
        f"Not understood (fallback): {stats.fallbacks} ({stats.fallback_rate:.1%})",
        f"Out of scope: {stats.out_of_scope}",
        f"Replies rated: {stats.thumbs_up} helpful, {stats.thumbs_down} unhelpful",
        f"Waiting for review: {stats.review_queue}",
        f"Leads: {stats.leads}",
        f"Reminders sent: {stats.reminders_sent}",
        f"Partner enquiries: {stats.partner_enquiries}",
        "Top intents:",
        *([f"  {name}: {n}" for name, n in stats.top_intents] or ["  none yet"]),
        "Messages per day:",
        *[f"  {day:%a %d %b}: {n}" for day, n in stats.per_day[-7:]],
    ]
    return "\n".join(lines)


def chart_png(stats: Stats) -> bytes:
    """Messages per day and the top intents, as a PNG image."""
    import matplotlib

    matplotlib.use("Agg")  # no display
    import matplotlib.pyplot as plt

    figure, (daily, asked) = plt.subplots(1, 2, figsize=(12, 4.5),
                                          gridspec_kw={"width_ratios": [3, 2]})
    days = [day for day, _ in stats.per_day]
    daily.bar(days, [n for _, n in stats.per_day], color="#3a6ea5")
    daily.set(title=f"Messages per day ({stats.messages}; fallback {stats.fallback_rate:.1%})",
              ylabel="messages")
    daily.tick_params(axis="x", labelrotation=45)
    names = [name for name, _ in reversed(stats.top_intents)]
    asked.barh(names, [n for _, n in reversed(stats.top_intents)], color="#6aa84f")
    asked.set(title="Top intents", xlabel="messages")
    figure.suptitle(f"Leads {stats.leads} · reminders sent {stats.reminders_sent} · partner "
                    f"enquiries {stats.partner_enquiries} · waiting for review "
                    f"{stats.review_queue}")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()
