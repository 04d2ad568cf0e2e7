"""The rows about a person: leads (with consent), reminder subscriptions, and forgetting all of
it (handoffs to staff included; recording them: npq/handoffs.py). The caller owns the session
and commits; nothing here commits.

Record functions raise ValueError on input a form should have caught (no consent, a bad email);
the `*_answer` functions word the outcome for the user.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from npq.answers import Answer, Button, intake_label
from npq.db.models import (
    HandoffRequest,
    Lead,
    MessageLog,
    PartnerEnquiry,
    PendingErasure,
    ReminderDelivery,
    ReminderSubscription,
)
from npq.message_log import EMAIL_IN_TEXT, NOT_RELEVANT, PHONE_IN_TEXT, SKIP
from npq.profile import parse_role
from npq.programmes import find_programme
from npq.vocabulary import ROLES

EMAIL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                   r"@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}$")
NAME = re.compile(r"^[^\W\d_]+([ '\u2019.-]+[^\W\d_]+)*\.?$")
NAME_PREFIX = re.compile(r"^(my name is|my names|i am|im|i'm|it's|its|this is|call me|name)\b"
                         r"[\s:,-]*", re.IGNORECASE)
NOT_NAMES = frozenset({"yes", "no", "hi", "hello", "skip", "cancel", "stop", "none", "nope",
                       "anonymous", "test", "ok", "okay", "asdf", "asdfgh", "qwerty", "xxx",
                       "abc", "idk", "n a", "na", "testing", "blah", "why", "what", "no thanks",
                       "not telling", "rather not say", "prefer not to say", "nobody"})
INTAKE = re.compile(r"^\d{4}[ab]$")
# An e-mail address or a UK phone number (0 or +44, then 9 or 10 digits in up to three groups,
# "0113 496 0000") anywhere in a message.
# "Hi, I'm Devon", "hello my name is Chester": an optional greeting, then the person's name (one
# to three words) and nothing more. "I'm in Devon" and "I'm Leeds based" are not introductions.
INTRODUCTION = re.compile(
    r"^\s*(?:(?:hi|hello|hey|hiya|morning|afternoon|evening|good (?:morning|afternoon|evening))"
    r"(?: there| all)?[\s,.!-]+)?(?:i'm|i\u2019m|im|i am|my name is|my name's|my name\u2019s|"
    r"my names|name's|call me)\s+(?P<name>[^\W\d_]+(?:[ '\u2019-][^\W\d_]+){0,2})[\s.!]*$",
    re.IGNORECASE)
FORGET_LABELS = {  # table: (one, many)
    "leads": ("contact request", "contact requests"),
    "reminder_subscriptions": ("reminder subscription", "reminder subscriptions"),
    "reminder_deliveries": ("reminder sent", "reminders sent"),
    "partner_enquiries": ("partner enquiry", "partner enquiries"),
    "handoff_requests": ("request to talk to a person", "requests to talk to a person"),
    "message_log": ("message in our log", "messages in our log"),
}
EMAIL_FILLER = frozenset({"my", "email", "e-mail", "address", "is", "its", "it's", "it", "here",
                          "you", "can", "reach", "me", "at", "on", "use", "please", "thanks",
                          "mailto:", "-", ":"})


@dataclass(frozen=True)
class Subscription:
    row: ReminderSubscription
    change: str  # created | reactivated | unchanged


# "priya at school dot org", "sam [at] trust [dot] org [dot] uk": an address spelt out so bots
# don't harvest it, read as the address
SPELT_EMAIL = re.compile(r"^\s*([\w.+-]+)\s*[\[(]?\s*\bat\b\s*[\])]?\s*([\w-]+(?:\s*[\[(]?\s*"
                         r"(?:\bdot\b|\.)\s*[\])]?\s*[\w-]+)+)\s*\.?\s*$", re.IGNORECASE)
SPELT_DOT = re.compile(r"\s*[\[(]?\s*(?:\bdot\b|\.)\s*[\])]?\s*", re.IGNORECASE)


def validate_email(text: str | None) -> str | None:
    """The one email address in `text`, with its domain in lower case, or None."""
    if not isinstance(text, str) or len(text) > 320:
        return None
    spelt = SPELT_EMAIL.match(text) if "@" not in text else None
    if spelt:
        text = f"{spelt.group(1)}@{SPELT_DOT.sub('.', spelt.group(2))}"
    tokens = text.replace("mailto:", " ").split()
    found = [t.strip("()<>\"'[]").rstrip(".,;:") for t in tokens if "@" in t]
    others = {t.lower().strip(".,;:!") for t in tokens if "@" not in t}
    if len(found) != 1 or not others <= EMAIL_FILLER:
        return None  # two addresses, or words that may be part of a mistyped one
    if len(found[0]) > 254 or not EMAIL.match(found[0]):
        return None
    local, _, domain = found[0].rpartition("@")
    return None if len(local) > 64 else f"{local}@{domain.lower()}"


def validate_name(text: str | None) -> str | None:
    """A person's name from a reply ("my name is sam patel" -> "Sam Patel"), or None."""
    if not isinstance(text, str) or len(text) > 200:
        return None
    name = " ".join(NAME_PREFIX.sub("", text.strip()).split()).strip(" .,!")
    if not 1 < len(name) <= 100 or len(name.split()) > 6 or name.lower() in NOT_NAMES:
        return None
    if not NAME.match(name):
        return None
    return name.title() if name.islower() or name.isupper() else name


def contact_details_in(text: str | None) -> bool:
    """Whether a message holds an e-mail address or a phone number."""
    return isinstance(text, str) and bool(EMAIL_IN_TEXT.search(text) or PHONE_IN_TEXT.search(text))


def introduced_name(text: str | None, place: str | None = None) -> str | None:
    """The name in a message that only introduces its writer ("Hi, I'm Devon" -> "Devon"),
    else None. The name must be capitalised as a name is ("I'm confused" is no introduction),
    unless it is the `place` the model took it for ("hi im devon", Devon). Kept nowhere: the
    assistant greets them by it."""
    match = INTRODUCTION.match(text) if isinstance(text, str) and len(text) <= 100 else None
    if match is None or parse_role(match["name"]) is not None:
        return None
    typed = match["name"]
    as_a_name = all(word[0].isupper() for word in re.split(r"[ '\u2019-]", typed) if word)
    if not as_a_name and (place is None or place.casefold() != typed.casefold()):
        return None
    return validate_name(typed)


def record_lead(session: Session, *, chat_id: str | int, name: str, email: str,
                programme_code: str | None, role: str | None, consent: bool,
                now: dt.datetime) -> Lead:
    """Store someone's request to be contacted; the same person, email and programme again
    updates the one row. Raises ValueError without consent or with an invalid name or email."""
    if consent is not True:
        raise ValueError("a lead needs the person's consent")
    chat, clean_name, clean_email = _chat(chat_id), validate_name(name), validate_email(email)
    if clean_name is None or clean_email is None:
        raise ValueError("a lead needs a valid name and email address")
    programme = find_programme(session, programme_code[:200]) if programme_code else None
    code = programme.code if programme else None
    lead = session.scalars(select(Lead).where(Lead.chat_id == chat, Lead.email == clean_email,
                                              _is(Lead.programme_code, code))).first()
    if lead is None:
        lead = Lead(chat_id=chat, email=clean_email, programme_code=code, created_at=now)
        session.add(lead)
    lead.name, lead.consent, lead.consent_at = clean_name, True, now
    lead.role = role if role in ROLES else parse_role(role)
    session.flush()
    return lead


def subscribe_reminders(session: Session, *, chat_id: str | int, programme_code: str | None = None,
                        intake: str | None = None, now: dt.datetime) -> Subscription:
    """Switch on deadline reminders (for one programme and/or intake, or all). Idempotent: the
    same subscription twice is one row, and an inactive one is switched back on."""
    chat = _chat(chat_id)
    code = None
    if programme_code:
        programme = find_programme(session, programme_code[:200])
        if programme is None or programme.is_legacy:
            raise ValueError(f"no current programme called {programme_code[:40]!r}")
        code = programme.code
    if intake is not None and not INTAKE.match(intake):
        raise ValueError("an intake looks like 2027a (spring) or 2027b (autumn)")
    row = session.scalars(select(ReminderSubscription).where(
        ReminderSubscription.chat_id == chat, _is(ReminderSubscription.programme_code, code),
        _is(ReminderSubscription.intake, intake))).first()
    if row is None:
        row = ReminderSubscription(chat_id=chat, programme_code=code, intake=intake, active=True,
                                   created_at=now)
        session.add(row)
        change = "created"
    elif row.active:
        change = "unchanged"
    else:
        row.active, row.ended_at, change = True, None, "reactivated"
    session.flush()
    return Subscription(row, change)


def switch_reminder(session: Session, *, chat_id: str | int, from_code: str | None,
                    to_code: str, now: dt.datetime) -> Subscription:
    """"Actually make that NPQSL" just after subscribing to NPQH reminders: the NPQH one is
    switched off (its row kept, as `unsubscribe` keeps them) and NPQSL's switched on."""
    chat = _chat(chat_id)
    if from_code and from_code != to_code:
        for row in session.scalars(select(ReminderSubscription).where(
                ReminderSubscription.chat_id == chat, ReminderSubscription.active,
                ReminderSubscription.programme_code == from_code)):
            row.active, row.ended_at = False, now
    return subscribe_reminders(session, chat_id=chat, programme_code=to_code, now=now)


def unsubscribe(session: Session, chat_id: str | int, now: dt.datetime | None = None) -> int:
    """Switch off every active reminder for this chat; how many were on. Rows stay (until the
    purge, ENDED_REMINDER_RETENTION_DAYS after `now`), so the reminders already sent are never
    sent again if the person subscribes again meanwhile."""
    rows = session.scalars(select(ReminderSubscription).where(
        ReminderSubscription.chat_id == _chat(chat_id), ReminderSubscription.active)).all()
    for row in rows:
        row.active = False
        row.ended_at = now or dt.datetime.now(dt.timezone.utc)
    session.flush()
    return len(rows)


def forget(session: Session, chat_id: str | int,
           now: dt.datetime | None = None) -> dict[str, int]:
    """Erase every row about this chat, returning how many went from each table, and record
    what the front end must still erase elsewhere (a PendingErasure: the conversation Rasa
    keeps, and the texts of this chat's messages staff labelled into the training data)."""
    chat = _chat(chat_id)
    labelled = session.scalars(select(MessageLog.text).where(
        MessageLog.chat_id == chat, MessageLog.text.is_not(None),
        MessageLog.review_label.is_not(None),
        MessageLog.review_label.not_in((NOT_RELEVANT, SKIP)))).all()
    session.add(PendingErasure(chat_id=chat, examples=sorted({t for t in labelled if t}),
                               created_at=now or dt.datetime.now(dt.timezone.utc)))
    subscriptions = select(ReminderSubscription.id).where(ReminderSubscription.chat_id == chat)
    statements = {
        "leads": delete(Lead).where(Lead.chat_id == chat),
        "reminder_deliveries": delete(ReminderDelivery).where(
            ReminderDelivery.subscription_id.in_(subscriptions)),
        "reminder_subscriptions": delete(ReminderSubscription).where(
            ReminderSubscription.chat_id == chat),
        "partner_enquiries": delete(PartnerEnquiry).where(PartnerEnquiry.chat_id == chat),
        "handoff_requests": delete(HandoffRequest).where(HandoffRequest.chat_id == chat),
        "message_log": delete(MessageLog).where(MessageLog.chat_id == chat),
    }
    counts = {table: session.execute(statement).rowcount  # type: ignore[attr-defined]
              for table, statement in statements.items()}
    session.flush()
    return counts


# "what do you know about me?", "what data do you hold on me?"
ASKS_WHAT_IS_HELD = re.compile(
    r"\bwhat\b[\w' ]{0,40}\b(know|hold|holding|have|keep|keeping|store|storing|got|kept|stored|"
    r"held)\b( got)? (about|on|of) me\b", re.IGNORECASE)


def asks_what_is_held(text: str | None) -> bool:
    return isinstance(text, str) and ASKS_WHAT_IS_HELD.search(text[:500]) is not None


def held_about(session: Session, chat_id: str | int) -> dict[str, int]:
    """How many rows about this chat each table holds (what `forget` would delete)."""
    chat = _chat(chat_id)
    counted = {
        "leads": select(func.count()).select_from(Lead).where(Lead.chat_id == chat),
        "reminder_subscriptions": select(func.count()).select_from(ReminderSubscription).where(
            ReminderSubscription.chat_id == chat, ReminderSubscription.active),
        "partner_enquiries": select(func.count()).select_from(PartnerEnquiry).where(
            PartnerEnquiry.chat_id == chat),
        "handoff_requests": select(func.count()).select_from(HandoffRequest).where(
            HandoffRequest.chat_id == chat),
        "message_log": select(func.count()).select_from(MessageLog).where(
            MessageLog.chat_id == chat),
    }
    return {table: int(session.scalar(query) or 0) for table, query in counted.items()}


def held_answer(counts: dict[str, int], retention_days: int) -> Answer:
    """What is held about the user, and how to have it deleted."""
    held = [f"{n} {FORGET_LABELS[t][0 if n == 1 else 1]}" for t, n in counts.items() if n]
    first = ("I hold " + ", ".join(held) + " about you, and our conversation." if held else
             "I hold no contact details, reminders or requests about you, only our conversation.")
    return Answer(f"{first} Messages in our log lose their text after {retention_days} days. "
                  "Say \"forget me\" (or send /forget) and I'll delete it all.",
                  (Button("Forget me", "forget_me"), Button("What can you do?", "help")))


# --- wording --------------------------------------------------------------------------------

def lead_recorded_answer(lead: Lead) -> Answer:
    about = f" in {lead.programme_code}" if lead.programme_code else ""
    extra = {"npq": lead.programme_code} if lead.programme_code else {}
    return Answer(f"Thank you, {lead.name.split()[0]}. I've noted your interest{about}, and our "
                  f"team will email you at {lead.email}. You can ask me to forget your details "
                  "at any time.", (
                      Button("Remind me about deadlines", "subscribe_reminders", extra),
                      Button("Deadlines", "ask_deadlines", extra),
                      Button("Forget my details", "forget_me")))


def no_consent_answer() -> Answer:
    return Answer("No problem: I haven't kept your details. You can still ask me anything about "
                  "the NPQs.", (Button("Which NPQ suits me?", "recommend_npq"),
                                Button("Find my nearest hub", "find_hub")))


def days_before_phrase(days: Sequence[int]) -> str:
    """(14, 3, 1) -> "14, 3 and 1 days before"; (1,) -> "1 day before"."""
    ordered = [str(d) for d in sorted(set(days), reverse=True)]
    listed = ordered[0] if len(ordered) == 1 else f"{', '.join(ordered[:-1])} and {ordered[-1]}"
    return f"{listed} day{'' if ordered == ['1'] else 's'} before"


def subscribed_answer(subscription: Subscription, days: Sequence[int] = (14, 3, 1)) -> Answer:
    """The confirmation, saying when the reminders come (`days`: REMINDER_DAYS), so "remind me
    a week before" learns the schedule instead of assuming its own."""
    row = subscription.row
    what = row.programme_code or "NPQ"
    when = f" for {intake_label(row.intake)}" if row.intake else ""
    before = days_before_phrase(days) if days else "before"
    text = {"created": f"Done: I'll remind you here {before} {what} deadlines{when}.",
            "reactivated": f"Welcome back: your {what} deadline reminders{when} are on again.",
            "unchanged": f"You're already signed up for {what} deadline reminders{when}."
            }[subscription.change]
    if subscription.change != "created" and days:
        text += f" Reminders come {days_before_phrase(days)} each deadline."
    extra = {"npq": row.programme_code} if row.programme_code else {}
    return Answer(f"{text} Say \"stop reminders\" at any time.",
                  (Button("See deadlines", "ask_deadlines", extra),
                   Button("Stop reminders", "unsubscribe")))


def unsubscribed_answer(count: int) -> Answer:
    text = ("You didn't have any reminders switched on." if count == 0 else
            f"Done: I've switched off {count} reminder subscription{'s' if count != 1 else ''}. "
            "You won't get any more.")
    return Answer(text, (Button("Turn reminders back on", "subscribe_reminders"),
                         Button("Forget all my details", "forget_me")))


def forgotten_answer(counts: dict[str, int]) -> Answer:
    deleted = [f"{n} {FORGET_LABELS[t][0 if n == 1 else 1]}" if t in FORGET_LABELS else f"{n} {t}"
               for t, n in counts.items() if n]
    # Only what is true now: our conversation is erased by the front end after this reply,
    # and it says whether that worked (bot/erasure.py).
    text = ("I didn't hold any other details about you." if not deleted
            else "I've deleted the details I held about you (" + ", ".join(deleted) + ").")
    text += " Now deleting our conversation…"
    return Answer(text, (Button("Start again", "greet"), Button("What can you do?", "help")))


def _chat(chat_id: str | int) -> str:
    chat = str(chat_id).strip()[:64] if chat_id is not None else ""
    if not chat:
        raise ValueError("a chat id is needed")
    return chat


def _is(column: InstrumentedAttribute[str | None], value: str | None) -> ColumnElement[bool]:
    return column.is_(None) if value is None else column == value
