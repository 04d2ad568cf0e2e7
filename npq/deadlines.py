"""Application deadlines from the cohorts table: per programme, per hub or near a place.

Dates read "28 January 2027 (in 67 days)". A deadline that has passed points to the next intake;
when no intake is known the answer says so and offers a reminder.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, selectinload

from npq import geo
from npq.answers import Answer, Button, intake_label, long_date, places_left_phrase
from npq.db.models import Cohort, Hub, Programme
from npq.hubs import county_note, county_town_buttons, more_precise, nearest_hubs
from npq.programmes import current_programmes, find_programme
from npq.topics import plain_words

MAX_PLACE_TEXT = 200
NEARBY_HUBS = 3
HUB_WORDS = re.compile(r"\b(npq|hub|the|teaching|school)\b")


def days_phrase(day: dt.date, today: dt.date) -> str:
    """'today', 'tomorrow', 'in 12 days' or '3 days ago'."""
    days = (day - today).days
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow"
    return f"in {days} days" if days > 0 else f"{-days} days ago"


def deadline_phrase(cohort: Cohort, today: dt.date) -> str:
    """'spring 2027, apply by 28 January 2027 (in 67 days), starts 1 March 2027; 12 places
    left', noting a window not yet open and the places left where the hub has said."""
    close = f"apply by {long_date(cohort.applications_close)} " \
            f"({days_phrase(cohort.applications_close, today)})"
    if cohort.applications_open > today:
        close = f"applications open {long_date(cohort.applications_open)}, {close}"
    places = places_left_phrase(cohort.places_left)
    return (f"{intake_label(cohort.intake)}, {close}, starts {long_date(cohort.start_date)}"
            + (f"; {places}" if places else ""))


# "have I missed the deadline?", "is it too late to apply?": answered yes or no first
ASKS_IF_MISSED = re.compile(r"\b(missed|too late|still (time|apply|open|able)|closed|passed|gone|"
                            r"can i still)\b")
STILL_OPEN = re.compile(r"\(in \d+ days?\)|\(tomorrow\)|\(today\)")


def deadlines_answer(session: Session, *, today: dt.date, programme_code: str | None = None,
                     place_text: str | None = None, message_text: str | None = None,
                     coordinates: tuple[float, float] | None = None) -> Answer:
    """The next deadlines for a programme (a code or any name users give it) and/or a place: a
    hub's name ("Keighley hub"), a town or postcode (the hubs near it) or shared coordinates.
    Asked whether it is too late, it says first that it isn't, when a deadline is still ahead."""
    answer = _deadlines(session, today=today, programme_code=programme_code,
                        place_text=place_text, message_text=message_text,
                        coordinates=coordinates)
    if ASKS_IF_MISSED.search(plain_words(message_text)) and STILL_OPEN.search(answer.text):
        return Answer("Not too late: applications are still open.\n\n" + answer.text,
                      answer.buttons)
    return answer


def _deadlines(session: Session, *, today: dt.date, programme_code: str | None,
               place_text: str | None, message_text: str | None,
               coordinates: tuple[float, float] | None) -> Answer:
    programme = find_programme(session, programme_code[:200]) if programme_code else None
    if programme_code and programme is None:
        return Answer(f"I don't know an NPQ called \"{programme_code[:40]}\". Which one do you "
                      "mean?", (Button("Which NPQs are there?", "programme_info"),))
    if programme is not None and programme.is_legacy:
        return _legacy(programme)
    code = programme.code if programme else None
    hub = _named_hub(session, place_text)
    if hub is not None and code and code not in {p.code for p in hub.programmes}:
        return Answer(f"{hub.name} doesn't run {code}. Shall I find the nearest hubs that do?",
                      (Button(f"Hubs offering {code}", "find_hub",
                              {"npq": code, "location": hub.town}),
                       Button(f"All {code} deadlines", "ask_deadlines", {"npq": code})))
    if hub is not None:
        return _at_hubs(session, today, programme, [(hub, None)])
    resolution = _resolve(place_text, message_text, coordinates)
    # A place the user named but we can't find gets a question; a message that names no place
    # ("when is the NPQH deadline?") gets the national answer.
    if place_text or coordinates or resolution.place:
        if resolution.place is None:
            return _unknown_place(resolution, place_text, code)
        if resolution.place.country != "England":
            return Answer(f"{resolution.place.name} is in {resolution.place.country}. NPQs are for "
                          "teachers and leaders in England, so our hubs are all in England. Which "
                          "English town or postcode should I look near?",
                          (Button("Which NPQs are there?", "programme_info"),))
        near = nearest_hubs(session, resolution.place.latitude, resolution.place.longitude,
                            today=today, programme_code=code,
                            limit=NEARBY_HUBS if code else 1)
        return _at_hubs(session, today, programme, [(n.hub, n.miles) for n in near],
                        near=resolution.place)
    if programme is not None:
        return _national(session, today, programme, season_asked(message_text))
    return _overview(session, today)


# "when is the autumn cohort for npqlt": intakes are <year>a (spring) and <year>b (autumn)
SEASONS = (("b", re.compile(r"\b(autumn|september|october|november|sept|sep|oct|nov)\b")),
           ("a", re.compile(r"\b(spring|january|february|march|jan|feb|mar)\b")))


def season_asked(text: str | None) -> str | None:
    """The intake suffix a message asks about ('a' spring, 'b' autumn), when it names one."""
    words = plain_words(text)
    found = {suffix for suffix, pattern in SEASONS if pattern.search(words)}
    return found.pop() if len(found) == 1 else None


def _at_hubs(session: Session, today: dt.date, programme: Programme | None,
             hubs: list[tuple[Hub, float | None]], near: geo.Place | None = None) -> Answer:
    code = programme.code if programme else None
    extra = {"npq": code} if code else {}
    near_to = near.name if near else None
    note = county_note(near) if near else []
    towns = county_town_buttons(near, "ask_deadlines", extra) if near else ()
    if not hubs:
        return _nothing_known(code, f"near {near_to}" if near_to else "")
    where = f" near {near_to}" if near_to else ""
    if code is None:  # one hub, every programme it offers
        hub, miles = hubs[0]
        lines = [f"Deadlines at {hub.name}{_miles(miles)}:"]
        for offered in hub.programmes:
            lines.append(f"• {offered.code}: "
                         f"{_hub_line(session, today, hub, offered.code, compact=True)}")
        return Answer("\n".join(lines + note), (
            *towns,
            Button("Remind me about deadlines", "subscribe_reminders"),
            Button("Which NPQ suits me?", "recommend_npq"),
            Button("How do I apply?", "how_to_apply")))
    online = _next(session, today, code, ONLINE)
    if online is None and all(_next(session, today, code, _at_hub(h)) is None for h, _ in hubs):
        return _nothing_known(code, f"near {near_to}" if near_to else f"at {hubs[0][0].name}")
    lines = [f"{code} deadlines{where}:", *note]
    for number, (hub, miles) in enumerate(hubs, start=1):
        lines.append(f"{number}. {hub.name}{_miles(miles)}: {_hub_line(session, today, hub, code)}")
    if online is not None:
        lines.append(f"Online cohort: {deadline_phrase(online, today)}")
    return Answer("\n".join(lines), (
        *towns,
        Button(f"Remind me about {code}", "subscribe_reminders", extra),
        Button("Is it funded?", "ask_funding", extra),
        Button("How do I apply?", "how_to_apply", extra)))


def _hub_line(session: Session, today: dt.date, hub: Hub, code: str, *,
              compact: bool = False) -> str:
    upcoming = _next(session, today, code, _at_hub(hub))
    if compact:
        if upcoming is None:
            return "no intake announced yet"
        places = places_left_phrase(upcoming.places_left)
        return (f"{intake_label(upcoming.intake)}, apply by "
                f"{long_date(upcoming.applications_close)} "
                f"({days_phrase(upcoming.applications_close, today)}), starts "
                f"{long_date(upcoming.start_date)}" + (f"; {places}" if places else ""))
    closed = _recently_closed(session, today, code, _at_hub(hub))
    if upcoming is None:
        lost = f"{intake_label(closed.intake)} closed on {long_date(closed.applications_close)}; " \
            if closed else ""
        return f"{lost}no next intake announced yet"
    if closed is not None and closed.intake != upcoming.intake:
        return (f"{intake_label(closed.intake)} closed on {long_date(closed.applications_close)}. "
                f"Next, {deadline_phrase(upcoming, today)}")
    return deadline_phrase(upcoming, today)


def _national(session: Session, today: dt.date, programme: Programme,
              season: str | None = None) -> Answer:
    code = programme.code
    upcoming = list(session.scalars(
        select(Cohort).where(Cohort.programme_code == code, Cohort.applications_close >= today)
        .order_by(Cohort.applications_close)))
    if not upcoming:
        return _nothing_known(code, "")
    wanted = next((c.intake for c in upcoming if season and c.intake.endswith(season)), None)
    intake = wanted or upcoming[0].intake
    in_intake = [c for c in upcoming if c.intake == intake]
    first, last = in_intake[0], in_intake[-1]
    lines = [f"{code} ({programme.name}): the {intake_label(intake)} intake." if wanted
             and wanted != upcoming[0].intake else
             f"{code} ({programme.name}): the next intake is {intake_label(intake)}."]
    if season and wanted is None:
        asked = "autumn" if season == "b" else "spring"
        lines.insert(0, f"No {asked} intake of {code} is open for applications yet.")
    starts = sorted(c.start_date for c in in_intake)
    lines.append(f"It starts on {long_date(starts[0])}." if starts[0] == starts[-1] else
                 f"Courses start between {long_date(starts[0])} and {long_date(starts[-1])}, "
                 "depending on the hub.")
    closed = _recently_closed(session, today, code)
    if closed is not None and closed.intake != intake:
        lines.insert(0, f"Applications for {intake_label(closed.intake)} have closed.")
    if first.applications_close == last.applications_close:
        lines.append(f"Apply by {long_date(first.applications_close)} "
                     f"({days_phrase(first.applications_close, today)}).")
    else:
        lines.append(f"Each hub sets its own deadline: the earliest is "
                     f"{long_date(first.applications_close)} "
                     f"({days_phrase(first.applications_close, today)}), the latest "
                     f"{long_date(last.applications_close)}.")
    online = next((c for c in in_intake if c.hub_id is None), None)
    if online is not None:
        lines.append(f"Online cohort: apply by {long_date(online.applications_close)}, starts "
                     f"{long_date(online.start_date)}.")
    lines.append("Tell me your town or postcode for your nearest hub's date.")
    return Answer("\n".join(lines), (
        Button("Deadlines near me", "find_hub", {"npq": code}),
        Button(f"Remind me about {code}", "subscribe_reminders", {"npq": code}),
        Button("Is it funded?", "ask_funding", {"npq": code})))


def _overview(session: Session, today: dt.date) -> Answer:
    lines = ["The earliest deadlines across our hubs (each hub sets its own):"]
    for programme in current_programmes(session):
        cohort = _next(session, today, programme.code)
        when = (f"{intake_label(cohort.intake)}, {long_date(cohort.applications_close)} "
                f"({days_phrase(cohort.applications_close, today)})"
                if cohort else "no intake announced yet")
        note = "" if programme.is_npq else " (coaching, not an NPQ)"
        lines.append(f"• {programme.code}{note}: {when}")
    lines.append("Which NPQ, and where are you? I'll give you your nearest hub's date.")
    return Answer("\n".join(lines), (
        Button("Find my nearest hub", "find_hub"),
        Button("Which NPQ suits me?", "recommend_npq"),
        Button("Remind me about deadlines", "subscribe_reminders")))


def _next(session: Session, today: dt.date, code: str,
          where: ColumnElement[bool] | None = None) -> Cohort | None:
    """The cohort closing soonest that is still open (anywhere, or `where`)."""
    query = select(Cohort).where(Cohort.programme_code == code, Cohort.applications_close >= today)
    if where is not None:
        query = query.where(where)
    return session.scalars(query.order_by(Cohort.applications_close).limit(1)).first()


def _recently_closed(session: Session, today: dt.date, code: str,
                     where: ColumnElement[bool] | None = None) -> Cohort | None:
    """A cohort whose applications have closed but which has not started: people still ask."""
    query = select(Cohort).where(Cohort.programme_code == code, Cohort.applications_close < today,
                                 Cohort.start_date >= today)
    if where is not None:
        query = query.where(where)
    return session.scalars(query.order_by(Cohort.applications_close.desc()).limit(1)).first()


def _at_hub(hub: Hub) -> ColumnElement[bool]:
    return Cohort.hub_id == hub.id


ONLINE = Cohort.hub_id.is_(None)


def _named_hub(session: Session, text: str | None) -> Hub | None:
    """The hub a user names ("Keighley hub", "keighley-hub", "Lewisham NPQ Hub"), else None.
    A bare town is a place, not a hub: its nearest hubs are shown instead."""
    if not text or len(text) > MAX_PLACE_TEXT:
        return None
    key = re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()
    if "hub" not in key.split():
        return None
    wanted = HUB_WORDS.sub(" ", key).split()
    hubs = session.scalars(select(Hub).options(selectinload(Hub.programmes)))
    for hub in hubs:
        names = {" ".join(HUB_WORDS.sub(" ", re.sub(r"[^a-z0-9]+", " ", n.lower())).split())
                 for n in (hub.name, hub.slug, hub.town)}
        if " ".join(wanted) in names:
            return hub
    return None


def _resolve(place_text: str | None, message_text: str | None,
             coordinates: tuple[float, float] | None) -> geo.Resolution:
    if coordinates is not None:
        try:
            return geo.Resolution(geo.place_from_coordinates(*coordinates), ())
        except (TypeError, ValueError):
            return geo.Resolution(None, ())
    resolution = geo.Resolution(None, ())
    if place_text and len(place_text) <= MAX_PLACE_TEXT:
        resolution = geo.resolve_place(place_text)
    return more_precise(resolution, message_text)


def _unknown_place(resolution: geo.Resolution, place_text: str | None, code: str | None) -> Answer:
    extra = {"npq": code} if code else {}
    if resolution.suggestions:
        return Answer(f"I'm not sure which place you mean. Did you mean "
                      f"{' or '.join(resolution.suggestions)}?",
                      tuple(Button(name, "ask_deadlines", {"location": name, **extra})
                            for name in resolution.suggestions))
    shown = f"a place called \"{place_text[:60]}\"" if place_text else "that place"
    return Answer(f"I couldn't find {shown} in England. Could you send a nearby town or your "
                  "postcode (the first half, like BD21, is enough)?",
                  (Button("All deadlines", "ask_deadlines", extra),))


def _nothing_known(code: str | None, where: str) -> Answer:
    what = f"{code} " if code else ""
    place = f" {where}" if where else ""
    return Answer(f"No {what}intake{place} has been announced yet. Shall I send you a reminder "
                  "when the dates are out?",
                  (Button("Yes, remind me", "subscribe_reminders", {"npq": code} if code else {}),
                   Button("Find my nearest hub", "find_hub", {"npq": code} if code else {})))


def _legacy(programme: Programme) -> Answer:
    successors = programme.successors
    names = ", ".join(p.code for p in successors)
    return Answer(f"{programme.code} is no longer offered, so it has no deadlines. It was replaced "
                  f"by {names}. Which would you like the dates for?",
                  tuple(Button(f"{p.code} deadlines", "ask_deadlines", {"npq": p.code})
                        for p in successors))


def _miles(miles: float | None) -> str:
    return f" ({miles:.1f} miles)" if miles is not None else ""


def first_deadline(session: Session, programme_code: str, today: dt.date) -> dt.date | None:
    """The earliest deadline still open for a programme, at any hub."""
    return session.scalar(
        select(Cohort.applications_close)
        .where(Cohort.programme_code == programme_code, Cohort.applications_close >= today)
        .order_by(Cohort.applications_close).limit(1))


# "...and when do I need to apply by?" inside another question (funding, eligibility).
ALSO_ASKS_DEADLINE = re.compile(r"\b(deadlines?|closing dates?|cut ?offs?|apply by|applications? "
                                r"close|when (do|does|can|should|must) (i|we|you) (need to )?apply|"
                                r"when (is|are) (it|the) (due|closing)|last day to apply|"
                                r"when (could|can|would|do|does|will) (i|we|it|they|you) "
                                r"(start|begin)|(when|what date)s? (does|do|will) (it|they|the "
                                r"course|the next one) (start|begin|run)|start dates?)\b")


def also_asks_deadline(question: str | None) -> bool:
    """Whether a message about something else also asks when to apply."""
    return ALSO_ASKS_DEADLINE.search(plain_words(question)) is not None


def deadline_aside(session: Session, *, today: dt.date, programme_code: str | None,
                   question: str | None) -> str | None:
    """One line on the first deadline of `programme_code` when `question` also asks when to
    apply ("is NPQH funded and when do I apply by?"); None when it does not, or nothing is
    open."""
    if not programme_code or not also_asks_deadline(question):
        return None
    earliest = first_deadline(session, programme_code, today)
    if earliest is None:
        return None
    return (f"And the deadline: the first {programme_code} deadline is {long_date(earliest)} "
            f"({days_phrase(earliest, today)}); each hub sets its own, so tap Deadlines for "
            "yours.")

