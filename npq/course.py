"""What a course is like beyond its card: how it is assessed (and what failing or withdrawing
means), what the qualification is worth, the network's track record, and when sessions run.

`programme_info_answer` is the programme_info journey: a specific question (npq.topics) gets
its specific answer, anything else the programme's card or the list of NPQs. The facts come
from the programme database and network.yaml, which staff edit.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from npq.answers import Answer, Button, intake_label
from npq.applying import ask_your_hub_answer, endorsement_answer, provider_answer
from npq.db.models import Cohort, Hub, Programme
from npq.deadlines import deadlines_answer
from npq.hubs import nearby_formats
from npq.network import load_network
from npq.programmes import (
    catalogue_answer,
    comparison_answer,
    current_programmes,
    find_programme,
    programme_answer,
)
from npq.recommend import programme_for_subject
from npq.topics import topic_of

TOPICS = frozenset({"assessment", "qualification", "track_record", "sessions", "provider",
                    "places", "endorsement", "two_at_once", "prerequisite", "ask_your_hub"})
AFTER_SCHOOL = re.compile(r"\b(after school|twilight|evening)", re.IGNORECASE)
HASNT, HAVENT = "hasn't", "haven't"
SCHOOL_DAY = re.compile(r"\b(school day|daytime|in the day)\b", re.IGNORECASE)


def programme_info_answer(session: Session, *, today: dt.date, named: str | None,
                          question: str | None = None, place_text: str | None = None,
                          also_named: Sequence[str] = ()) -> tuple[Answer, str | None]:
    """The answer to a question about a programme (or all of them), and the programme it is
    about (None when no programme was named). With `also_named` (the other programmes the
    message names), a general question compares them."""
    programme = find_programme(session, named[:200] if named else None)
    code = programme.code if programme else None
    topic = topic_of(question, TOPICS)
    others = [p for p in (find_programme(session, text[:200]) for text in also_named[:2])
              if p is not None and not p.is_legacy and programme is not None
              and p.code != programme.code]
    if others and topic is None and programme is not None and not programme.is_legacy:
        return comparison_answer([programme, *others]), code
    if topic == "places":
        return places_answer(session, programme, today=today, place_text=place_text), code
    if topic == "assessment":
        return assessment_answer(session, programme), code
    if topic == "qualification":
        return qualification_answer(session, programme), code
    if topic == "track_record":
        return track_record_answer(session, programme), code
    if topic == "sessions":
        return sessions_answer(session, programme, today, place_text), code
    if topic == "provider":
        return provider_answer(session), code
    if topic == "ask_your_hub":
        return ask_your_hub_answer(session), code
    if topic == "endorsement":
        return endorsement_answer(code), code
    if topic == "two_at_once":
        return two_at_once_answer(), code
    if topic == "prerequisite" and programme is not None and not programme.is_legacy:
        return prerequisite_answer(programme), code
    if programme is None:
        pick = programme_for_subject(question)  # "what's the npq for sencos called?"
        chosen = find_programme(session, pick.code) if pick else None
        if pick is None or chosen is None:
            return catalogue_answer(session), None
        card = programme_answer(chosen)
        return Answer(f"The NPQ for that is {chosen.code}: {pick.reason}.\n\n{card.text}",
                      card.buttons), chosen.code
    return programme_answer(programme), code


def prerequisite_answer(programme: Programme) -> Answer:
    """'what qualifications do i need to do npqsl': its prerequisite, or that it has none, and
    who it is for."""
    first = (f"Before you apply for {programme.code}: {programme.prerequisite}"
             if programme.prerequisite else
             f"{programme.code} has no formal prerequisite or entry qualification.")
    return Answer(f"{first}\n\nWho it's for: {programme.audience}\n\nTo register you'll need "
                  "your teacher reference number (TRN) and your school's URN.", (
                      Button("How do I apply?", "how_to_apply", {"npq": programme.code}),
                      Button("Is it funded?", "ask_funding", {"npq": programme.code}),
                      Button("Which NPQ suits me?", "recommend_npq")))


def two_at_once_answer() -> Answer:
    """'can i do two npqs at the same time': what we know, and who decides."""
    return Answer(
        "Whether you can study two NPQs at the same time is up to your provider and your school, "
        "so ask your hub before you apply. Bear in mind each one takes about 1 to 2 hours a week "
        "for a year or more, and DfE funding is once per NPQ.",
        (Button("Find my nearest hub", "find_hub"), Button("Which NPQ suits me?",
                                                             "recommend_npq"),
         Button("Talk to a person", "talk_to_human")))


def assessment_answer(session: Session, programme: Programme | None, *,
                      funding_first: bool = False) -> Answer:
    """How it is assessed, the pass mark, resits, and what failing or withdrawing costs (first,
    when the question was about funding)."""
    network = load_network(session)
    if programme is not None and not programme.is_npq:
        return Answer(_coaching(programme), _about(programme))
    if programme is not None and programme.is_legacy:
        return Answer(f"{programme.code} is no longer offered. It was assessed by: "
                      f"{_lower_first(programme.assessment)}", _about(programme))
    if programme is not None:
        lines = [f"How {programme.code} is assessed: {programme.assessment}"]
    else:
        lines = [f"Every NPQ ends with a final assessment. {_most_common_assessment(session)}"]
    pass_mark = network.fact("assessment_pass_mark")
    if pass_mark:
        lines.append(f"The final assessment is {pass_mark}")
    resits = network.get("assessment_resits")
    if resits:
        lines.append(resits)
    funding = ("DfE funding is once per NPQ: if you withdraw or fail, you can't be funded for "
               "that NPQ again.")
    lines.insert(0, funding) if funding_first else lines.append(funding)
    return Answer("\n\n".join(_sentence(line) for line in lines), _about(programme))


def qualification_answer(session: Session, programme: Programme | None) -> Answer:
    """What the qualification is worth, as staff describe it (master's credit included)."""
    network = load_network(session)
    if programme is not None and not programme.is_npq:
        first = _coaching(programme)
    elif programme is not None and programme.is_legacy:
        first = f"{programme.code} is no longer offered. {programme.summary}"
    else:
        first = network.get("qualification_value") or (
            "NPQs are national professional qualifications for teachers and school leaders in "
            "England.")
    lines = [first]
    if programme is not None and programme.is_npq and not programme.is_legacy:
        lines.append(f"You gain {programme.code} by passing its final assessment: "
                     f"{_lower_first(programme.assessment)}")
    elif programme is None:  # "do I get a certificate?"
        lines.append("You gain the NPQ when you pass its final assessment.")
    return Answer("\n\n".join(lines), _about(programme))


def track_record_answer(session: Session, programme: Programme | None) -> Answer:
    """Is it worth it? The network's published results, from network.yaml."""
    network = load_network(session)
    record = network.get("track_record")
    name = network.get("network_name")
    if record is None:
        return Answer("I don't have figures on how our participants get on. Our team can tell you "
                      "more.", (Button("Talk to a person", "talk_to_human"),
                                Button("Which NPQ suits me?", "recommend_npq")))
    lead = f"Our track record{f' ({name})' if name else ''}: {record}"
    extra = {"npq": programme.code} if programme else {}
    return Answer(lead, (Button("Which NPQ suits me?", "recommend_npq"),
                         Button("Deadlines", "ask_deadlines", extra),
                         Button("How do I apply?", "how_to_apply", extra)))


def sessions_answer(session: Session, programme: Programme | None, today: dt.date,
                    place_text: str | None = None) -> Answer:
    """How it is delivered, and when the hubs (offering it) hold their sessions; with a place
    known ("is that online or in person?" after a question about York), the nearest hubs'."""
    hubs = list(session.scalars(select(Hub).options(selectinload(Hub.programmes))))
    if programme is not None and not programme.is_legacy:
        hubs = [h for h in hubs if any(p.code == programme.code for p in h.programmes)]
        lines = [f"{programme.code}: {programme.format}"]
    else:
        lines = [f"Most NPQs are {_lower_first(_most_common_format(session))}"]
    after = sum(1 for h in hubs if AFTER_SCHOOL.search(h.session_times or ""))
    daytime = sum(1 for h in hubs if SCHOOL_DAY.search(h.session_times or "")
                  and not AFTER_SCHOOL.search(h.session_times or ""))
    if hubs:
        lines.append(f"Each hub sets its own times: {after} of our {len(hubs)} hubs"
                     f"{f' offering {programme.code}' if programme else ''} meet after school, "
                     f"{daytime} in the school day.")
    online = sorted(set(session.scalars(select(Cohort.programme_code).where(
        Cohort.hub_id.is_(None), Cohort.applications_close >= today))))
    if programme is not None and programme.code in online:
        lines.append(f"{programme.code} also runs fully online, with no travel.")
    elif programme is None and online:
        lines.append(f"These also run fully online, with no travel: {', '.join(online)}.")
    code = programme.code if programme and not programme.is_legacy else None
    near = nearby_formats(session, place_text, today=today, programme_code=code) \
        if place_text else []
    lines.append(f"Nearest to {(place_text or '').strip()}:\n" + "\n".join(near) if near else
                 "Tell me your town or postcode and I'll show your nearest hubs' times.")
    extra = {"npq": programme.code} if programme and not programme.is_legacy else {}
    return Answer("\n\n".join(lines), (Button("Hubs near me", "find_hub", extra),
                                       *_about(programme)[:1]))


def _coaching(programme: Programme) -> str:
    return (f"{programme.code}, the {programme.name}, is coaching and support, not a "
            "qualification, so there's no assessment.")


def places_answer(session: Session, programme: Programme | None, *, today: dt.date,
                  place_text: str | None = None) -> Answer:
    """Places left: at the hubs near a place (the deadlines there), or across the next intake."""
    if programme is None or programme.is_legacy:
        return Answer("Places differ by programme and hub. Which NPQ are you asking about?",
                      tuple(Button(p.code, "ask_deadlines", {"npq": p.code})
                            for p in current_programmes(session)))
    if place_text:
        return deadlines_answer(session, today=today, programme_code=programme.code,
                                place_text=place_text)
    cohorts = list(session.scalars(select(Cohort).where(
        Cohort.programme_code == programme.code, Cohort.applications_close >= today)
        .order_by(Cohort.applications_close)))
    if not cohorts:
        return deadlines_answer(session, today=today, programme_code=programme.code)
    intake = cohorts[0].intake
    cohorts = [c for c in cohorts if c.intake == intake]
    free = sum(1 for c in cohorts if c.places_left)
    full = sum(1 for c in cohorts if c.places_left == 0)
    unknown = len(cohorts) - free - full
    counts = [f"{free} {'has' if free == 1 else 'have'} places left" if free else "",
              f"{full} {'is' if full == 1 else 'are'} full" if full else "",
              f"{unknown} {HASNT if unknown == 1 else HAVENT} said" if unknown else ""]
    said = [c for c in counts if c]
    summary = ", ".join(said[:-1]) + (" and " if len(said) > 1 else "") + said[-1]
    return Answer(f"Of the {len(cohorts)} {programme.code} cohorts for {intake_label(intake)}, "
                  f"{summary}.\n\nTell me your town or postcode and I'll show the places at "
                  "your nearest hubs.", (
                      Button("Hubs near me", "find_hub", {"npq": programme.code}),
                      Button("Deadlines", "ask_deadlines", {"npq": programme.code})))


def _about(programme: Programme | None) -> tuple[Button, ...]:
    if programme is None:
        return (Button("Which NPQs are there?", "programme_info"),
                Button("Talk to a person", "talk_to_human"))
    return (Button(f"About {programme.code}", "programme_info", {"npq": programme.code}),
            Button("Talk to a person", "talk_to_human"))


def _most_common_assessment(session: Session) -> str:
    texts = Counter(p.assessment for p in current_programmes(session) if p.is_npq)
    return texts.most_common(1)[0][0] if texts else ""


def _most_common_format(session: Session) -> str:
    texts = Counter(p.format for p in current_programmes(session) if p.is_npq)
    return texts.most_common(1)[0][0] if texts else "blended."


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "?", "!", ":")) or text.startswith("http") else text + "."
