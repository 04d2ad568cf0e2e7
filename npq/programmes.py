"""Programme look-ups and the "what does this NPQ involve" answer."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from npq.answers import Answer, Button
from npq.db.models import Programme

GROUP_TITLES = {
    "leadership": "Leadership NPQs",
    "specialist": "Specialist NPQs",
    "support": "Support for new headteachers",
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
        successors = programme.successors
        names = ", ".join(f"{p.code} ({p.name})" for p in successors)
        text = (f"{programme.code} ({programme.name}) is no longer offered: {programme.summary}\n\n"
                f"It was replaced by {names}.")
        buttons = tuple(Button(f"About {p.code}", "programme_info", {"npq": p.code})
                        for p in successors)
        return Answer(text, buttons)
    lines = [
        f"{programme.code}: {programme.name}",
        programme.summary,
        f"Who it's for: {programme.audience}",
        f"Length: about {programme.length_months} months. Format: {programme.format}",
        f"Assessment: {programme.assessment}",
    ]
    if programme.prerequisite:
        lines.append(f"Before you apply: {programme.prerequisite}")
    return Answer("\n\n".join(lines), (
        Button(f"Hubs offering {programme.code}", "find_hub", {"npq": programme.code}),
        Button("Other NPQs", "programme_info"),
    ))


def choose_programme_answer(session: Session, question: str, *, extra: Button,
                            first: str | None = None) -> Answer:
    """A question answered by picking a current programme (each an `inform` button), the one
    the conversation is about first, plus one more choice such as "not sure"."""
    codes = sorted((p.code for p in current_programmes(session)), key=lambda code: code != first)
    return Answer(question, (*(Button(code, "inform", {"npq": code}) for code in codes), extra))


def catalogue_answer(session: Session) -> Answer:
    """The current suite, grouped, when no particular programme was named."""
    programmes = current_programmes(session)
    sections = []
    for group, title in GROUP_TITLES.items():
        members = [p for p in programmes if p.group == group]
        if members:
            sections.append(title + ":\n" + "\n".join(f"• {p.code}: {p.name}" for p in members))
    text = (f"There are {len(programmes)} National Professional Qualifications. "
            "Which would you like to know about?\n\n")
    buttons = tuple(Button(p.code, "programme_info", {"npq": p.code}) for p in programmes)
    return Answer(text + "\n\n".join(sections), buttons)
