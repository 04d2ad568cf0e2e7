"""Talking to a person: office hours, what the user is told about when they will hear back, and
the handoff rows a front end relays through. The action stores a request "open"
(`record_handoff`, answered with `handoff_answer`); a front end
moves it to "forwarded" (staff have it), "active" (a staff member answered), "closed", or
"queued" when there is no staff chat to send it to.

Office hours read either way people write them: ``Mon-Fri 08:30-16:30`` (OFFICE_HOURS) or
``Monday to Friday, 8.30am to 4.30pm`` (network.yaml); several spans join with ``;``. Times are
in England's time zone. The caller owns the session and commits.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session

from npq.answers import Answer, Button
from npq.db.models import HandoffMessage, HandoffRequest

LONDON = ZoneInfo("Europe/London")
DEFAULT_HOURS = "Monday to Friday, 9am to 5pm"
STALE_FORWARDING = dt.timedelta(minutes=10)  # posting a card takes seconds; longer: it stopped
MAX_CONTEXT_ITEMS = 20  # messages of recent conversation kept with a request
MAX_TEXT = 1000
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DAY = r"(mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?"
_TIME = r"(\d{1,2})(?:[.:](\d{2}))?\s*(am|pm)?"
SPAN = re.compile(rf"{_DAY}(?:\s*(?:-|–|to)\s*{_DAY})?[\s,:]*{_TIME}\s*(?:-|–|to)\s*{_TIME}",
                  re.IGNORECASE)


@dataclass(frozen=True)
class OfficeHours:
    spans: tuple[tuple[frozenset[int], dt.time, dt.time], ...]  # weekdays (0 = Monday), times
    text: str  # as people read it

    def is_open(self, now: dt.datetime) -> bool:
        local = now.astimezone(LONDON)
        return any(local.weekday() in days and start <= local.time() < end
                   for days, start, end in self.spans)

    def next_opening(self, now: dt.datetime) -> dt.datetime:
        """The next moment the office opens after `now` (in England's time)."""
        local = now.astimezone(LONDON)
        for ahead in range(8):
            day = local.date() + dt.timedelta(days=ahead)
            starts = sorted(start for days, start, _ in self.spans if day.weekday() in days)
            for start in starts:
                moment = dt.datetime.combine(day, start, tzinfo=LONDON)
                if moment > local:
                    return moment
        raise ValueError("office hours name no day of the week")


def parse_office_hours(text: str) -> OfficeHours:
    """Raises ValueError when no span can be read."""
    spans = []
    for part in text.split(";"):
        match = SPAN.search(part)
        if match is None:
            continue
        first, last, h1, m1, p1, h2, m2, p2 = match.groups()
        start_day = DAYS.index(first[:3].lower())
        end_day = DAYS.index(last[:3].lower()) if last else start_day
        days = frozenset((start_day + i) % 7 for i in range((end_day - start_day) % 7 + 1))
        start, end = _time(h1, m1, p1), _time(h2, m2, p2)
        if end <= start and m2 is None and p2 is None and end.hour < 12:  # "9-5": 5pm
            end = end.replace(hour=end.hour + 12)
        if end <= start:
            raise ValueError(f"office hours end before they start: {part.strip()!r}")
        spans.append((days, start, end))
    if not spans:
        raise ValueError(f"cannot read office hours from {text!r}; write e.g. Mon-Fri 09:00-17:00")
    return OfficeHours(tuple(spans), text.strip())


def _time(hour: str, minute: str | None, half: str | None) -> dt.time:
    h, m = int(hour), int(minute or 0)
    if half and half.lower() == "pm" and h < 12:
        h += 12
    elif half and half.lower() == "am" and h == 12:
        h = 0
    return dt.time(h, m)


def clock_phrase(moment: dt.datetime, now: dt.datetime) -> str:
    """'today at 8.30am', 'tomorrow at 9am', 'on Monday at 8.30am'."""
    local, today = moment.astimezone(LONDON), now.astimezone(LONDON).date()
    hour = local.hour % 12 or 12
    minutes = f".{local.minute:02d}" if local.minute else ""
    time = f"{hour}{minutes}{'am' if local.hour < 12 else 'pm'}"
    if local.date() == today:
        return f"today at {time}"
    if local.date() == today + dt.timedelta(days=1):
        return f"tomorrow at {time}"
    return f"on {DAY_NAMES[local.weekday()]} at {time}"


def contact_promise(hours: OfficeHours, now: dt.datetime, *, staff_chat: bool,
                    office_contact: str = "") -> str:
    """When someone will be in touch, for the user who asked for a person: the office hours
    once. The assistant's reply to the request has already given the office's contact details
    (`office_contact` is not repeated)."""
    if not staff_chat:
        return (f"Our team reads these requests during office hours ({hours.text}). If you'd "
                "like us to email you, say \"please contact me\" and leave your details.")
    if hours.is_open(now):
        return ("Someone from our team will reply here in this chat, usually within office "
                f"hours ({hours.text}). Until then, you can keep asking me questions.")
    return (f"Our office is closed just now ({hours.text}). Someone will reply here in this chat "
            f"after we open, {clock_phrase(hours.next_opening(now), now)}. Until then, you can "
            "keep asking me questions.")


# --- the database ---------------------------------------------------------------------------

def record_handoff(session: Session, *, chat_id: str | int, reason: str | None,
                   context: list[Any] | None, now: dt.datetime) -> HandoffRequest:
    """Ask staff to pick the conversation up, with the last few messages as context."""
    request = HandoffRequest(chat_id=_chat(chat_id), reason=_text(reason) or None,
                             context=[_json_safe(item) for item in (context or [])
                                      [-MAX_CONTEXT_ITEMS:]], status="open", created_at=now)
    session.add(request)
    session.flush()
    return request


def requests_to_forward(session: Session, chat_id: str | None = None,
                        statuses: tuple[str, ...] = ("open",),
                        now: dt.datetime | None = None) -> list[HandoffRequest]:
    """Requests waiting for staff from Telegram chats (numeric ids; the terminal chat cannot
    be answered): "open" as the action stored them, "queued" when no staff chat was set, and
    (given `now`) "forwarding" for longer than STALE_FORWARDING: a sender stopped mid-post."""
    waiting: ColumnElement[bool] = HandoffRequest.status.in_(statuses)
    if now is not None:
        waiting = or_(waiting, and_(HandoffRequest.status == "forwarding", or_(
            HandoffRequest.forwarded_at.is_(None),
            HandoffRequest.forwarded_at < now - STALE_FORWARDING)))
    query = select(HandoffRequest).where(waiting)
    if chat_id is not None:
        query = query.where(HandoffRequest.chat_id == chat_id)
    rows = session.scalars(query.order_by(HandoffRequest.id)).all()
    return [r for r in rows if r.chat_id.lstrip("-").isdigit()]


def take(session: Session, request_id: int, *, status: str, to: str) -> bool:
    """Move a request from `status` to `to` unless another sender got there first."""
    result = session.execute(update(HandoffRequest)
                             .where(HandoffRequest.id == request_id,
                                    HandoffRequest.status == status)
                             .values(status=to).execution_options(synchronize_session=False))
    return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]


def start_forwarding(session: Session, request_id: int, *, status: str,
                     now: dt.datetime) -> bool:
    """Take a request to post it to staff (from `status`; a "forwarding" one only once stale),
    noting when, so one whose sender stopped mid-post is taken again later."""
    taking = [HandoffRequest.id == request_id, HandoffRequest.status == status]
    if status == "forwarding":
        taking.append(or_(HandoffRequest.forwarded_at.is_(None),
                          HandoffRequest.forwarded_at < now - STALE_FORWARDING))
    result = session.execute(update(HandoffRequest).where(*taking)
                             .values(status="forwarding", forwarded_at=now)
                             .execution_options(synchronize_session=False))
    return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]


def forwarded(session: Session, request_id: int, *, staff_chat_id: int, message_id: int,
              now: dt.datetime) -> None:
    request = session.get_one(HandoffRequest, request_id)
    request.status, request.forwarded_at = "forwarded", now
    request.staff_chat_id, request.staff_message_id = staff_chat_id, message_id
    link_message(session, request_id, staff_chat_id=staff_chat_id, message_id=message_id)


def link_message(session: Session, request_id: int, *, staff_chat_id: int,
                 message_id: int) -> None:
    """Remember a staff-group message, so replies to it belong to this request."""
    session.add(HandoffMessage(handoff_id=request_id, staff_chat_id=staff_chat_id,
                               message_id=message_id))
    session.flush()


def by_staff_message(session: Session, staff_chat_id: int,
                     message_id: int) -> HandoffRequest | None:
    return session.scalars(select(HandoffRequest).join(HandoffMessage).where(
        HandoffMessage.staff_chat_id == staff_chat_id,
        HandoffMessage.message_id == message_id)).first()


def answered_by(session: Session, request_id: int, *, staff_user_id: int,
                staff_name: str) -> HandoffRequest:
    """A staff member replied: the user's next messages go to them."""
    request = session.get_one(HandoffRequest, request_id)
    request.status = "active"
    request.staff_user_id, request.staff_name = staff_user_id, staff_name[:120]
    session.flush()
    return request


def active_for_chat(session: Session, chat_id: str) -> HandoffRequest | None:
    return session.scalars(select(HandoffRequest).where(
        HandoffRequest.chat_id == chat_id, HandoffRequest.status == "active")
        .order_by(HandoffRequest.id.desc())).first()


def latest_forwarded(session: Session, chat_id: str) -> HandoffRequest | None:
    """The newest request staff have but nobody has answered yet."""
    return session.scalars(select(HandoffRequest).where(
        HandoffRequest.chat_id == chat_id, HandoffRequest.status == "forwarded")
        .order_by(HandoffRequest.id.desc())).first()


def close(session: Session, request_id: int, now: dt.datetime) -> HandoffRequest | None:
    """End a handoff; None when it was already closed."""
    request = session.get(HandoffRequest, request_id)
    if request is None or request.status == "closed":
        return None
    request.status, request.closed_at = "closed", now
    session.flush()
    return request


def handoff_answer(contact: str, *, school: bool = False, again: bool = False) -> Answer:
    """The request is with the team; when they answer is the front end's to say (it knows the
    office hours and whether a staff chat is set), so the hours are not repeated here. A school
    asking about partnership (`school`) is offered partnership next steps, not a candidate's.
    Asked `again` just after ("I'd rather a phone call, my number is ..."): the message goes to
    the team too, and the user is told so rather than the first answer word for word."""
    reach = f" You can also contact our office: {contact}." if contact else ""
    buttons = ((Button("What do partners get?", "partner_benefits"),
                Button("Check our fit", "partner_fit_check")) if school else
               (Button("Which NPQs are there?", "programme_info"),
                Button("Find my nearest hub", "find_hub")))
    if again:
        return Answer("Thanks, I've added that to your request, so the team will see it too.",
                      buttons)
    return Answer(f"I've passed your question to our team.{reach}", buttons)


def _chat(chat_id: str | int) -> str:
    chat = str(chat_id).strip()[:64] if chat_id is not None else ""
    if not chat:
        raise ValueError("a chat id is needed")
    return chat


def _text(value: Any) -> str:
    return str(value).strip()[:MAX_TEXT] if value is not None else ""


def _json_safe(item: Any) -> Any:
    if isinstance(item, dict):
        return {str(k)[:40]: _json_safe(v) for k, v in list(item.items())[:10]}
    if item is None or isinstance(item, (bool, int)) or (isinstance(item, float)
                                                         and math.isfinite(item)):
        return item
    return _text(item)
