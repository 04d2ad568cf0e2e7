"""Programme look-ups and the "what does this NPQ involve" answer."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from npq.answers import Answer, Button
from npq.db.models import Programme

GROUP_TITLES = {
    "specialist": "Specialist NPQs",
    "leadership": "Leadership NPQs",
}


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def find_programme(session: Session, text: str | None) -> Programme | None:
    """The programme a user means by a code, a full name or an informal synonym."""
    if not text:
        return None
    wanted = _key(text)
    squashed = wanted.replace(" ", "")
    programmes = session.scalars(select(Programme).options(selectinload(Programme.successors)))
    for programme in programmes:
        names = {_key(programme.code), _key(programme.name), *map(_key, programme.synonyms)}
        if wanted in names or squashed == _key(programme.code).replace(" ", ""):
            return programme
    return None


def current_code(session: Session, text: str | None) -> str | None:
    """The code of the current programme a user means; None for legacy or unknown names."""
    programme = find_programme(session, text[:200] if text else None)
    return programme.code if programme and not programme.is_legacy else None


def current_programmes(session: Session) -> list[Programme]:
    return list(session.scalars(
        select(Programme).where(Programme.status == "current").order_by(Programme.code)
    ))


def programme_answer(programme: Programme) -> Answer:
    """What a programme involves, or what replaced a legacy one."""
    if programme.is_legacy:
        replaced = [f"{p.code} ({p.name.removeprefix('NPQ for ')})" for p in programme.successors]
        names = " and ".join([", ".join(replaced[:-1]), replaced[-1]] if len(replaced) > 1
                             else replaced)
        # 'NPQH-2017' is the catalogue's key, not a name anyone uses
        who = f"The {programme.name}" if "-" in programme.code else \
            f"{programme.code}, the {programme.name},"
        return Answer(f"{who} is no longer offered. {programme.summary}\n\n"
                      f"What replaced it: {names}.", tuple(
                          Button(f"About {p.code}", "programme_info", {"npq": p.code})
                          for p in programme.successors))
    facts = [
        f"Who it's for: {programme.audience}",
        f"Length: about {programme.length_months} months.",
        f"Format: {programme.format}",
        f"Assessment: {programme.assessment}",
    ]
    if programme.prerequisite:
        facts.append(f"Before you apply: {programme.prerequisite}")
    code = {"npq": programme.code}
    text = f"{programme.code}: {programme.name}\n\n{programme.summary}\n\n" + "\n".join(facts)
    return Answer(text, (
        Button(f"Hubs for {programme.code}", "find_hub", code),
        Button("Deadlines", "ask_deadlines", code),
        Button("Is it funded?", "ask_funding", code),
        Button("Other NPQs", "programme_info"),
    ))


def comparison_answer(programmes: list[Programme]) -> Answer:
    """Two or three programmes side by side ("what's the difference between NPQSL and NPQH?"):
    each one's summary, who it is for and its length, then a button for each one's full card."""
    sections = [f"{p.code}: {p.name}\n{p.summary}\nWho it's for: {p.audience}\n"
                f"Length: about {p.length_months} months." for p in programmes]
    return Answer("\n\n".join(sections), tuple(
        Button(f"About {p.code}", "programme_info", {"npq": p.code}) for p in programmes))


# "How long does it take?", "is the course online?": a question about the programme the
# conversation is already about. Not "which NPQs are there?" or "what other NPQs do you do?".
REFERS_BACK = re.compile(r"\b(it|its|this|that|the course|the programme|the qualification|"
                         r"this one|that one|the npq)\b")
ASKS_FOR_ALL = re.compile(r"\b(npqs|all|which ones|list|other|others|options|are there|"
                          r"available|do you (do|offer|run))\b")


def refers_back(question: str | None) -> bool:
    """Whether a question names no programme because it means the one already being discussed."""
    words = _key(question or "")[:500]
    return bool(REFERS_BACK.search(words)) and not ASKS_FOR_ALL.search(words)


def choose_programme_answer(session: Session, question: str, *, extra: Button,
                            first: str | None = None) -> Answer:
    """A question answered by picking a current programme (each an `inform` button), the one
    the conversation is about first, plus one more choice such as "not sure"."""
    codes = sorted((p.code for p in current_programmes(session)), key=lambda code: code != first)
    return Answer(question, (*(Button(code, "inform", {"npq": code}) for code in codes), extra))


def catalogue_answer(session: Session) -> Answer:
    """The current suite, grouped, when no particular programme was named. EHCO is listed
    after the NPQs, as the coaching it is."""
    programmes = current_programmes(session)
    npqs = [p for p in programmes if p.is_npq]
    sections = []
    for group, title in GROUP_TITLES.items():
        members = [p for p in npqs if p.group == group]
        if members:
            sections.append(title + ":\n" + "\n".join(
                f"• {p.code}: {p.name.removeprefix('NPQ for ')}" for p in members))
    text = f"There are {len(npqs)} National Professional Qualifications (NPQs).\n\n" + \
        "\n\n".join(sections)
    for other in (p for p in programmes if not p.is_npq):
        text += (f"\n\nAlso on offer, but not an NPQ: the {other.name} ({other.code}), "
                 f"coaching for {_lower_first(other.audience).rstrip('.')}.")
    text += "\n\nWhich would you like to know about?"
    ordered = [*(p for group in GROUP_TITLES for p in npqs if p.group == group),
               *(p for p in programmes if not p.is_npq)]
    return Answer(text, tuple(Button(p.code, "programme_info", {"npq": p.code})
                              for p in ordered))


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


# A programme code typed as one word ("NPQX"), not "NPQs" (the programmes) or "NPQ for ...".
CODE_LIKE = re.compile(r"\b(npq(?!s\b)[a-z]{1,6})\b", re.IGNORECASE)


def unknown_code_answer(session: Session, text: str | None) -> Answer | None:
    """For a message naming a programme code no programme has ("NPQX", "npqabc"): say so, and
    list the programmes there are. None when the text names no such code."""
    match = CODE_LIKE.search(text or "")
    if match is None or find_programme(session, match[1]) is not None:
        return None
    code = match[1].upper()
    listing = catalogue_answer(session)
    return Answer(f"I don't know a programme called {code}. {listing.text}", listing.buttons)
