"""What the assistant says, independent of any channel: text plus next-step buttons.

A button names the intent (and entities) it stands for; each adapter turns that into its own
form (a Rasa payload, a Telegram inline button, a numbered option in the terminal).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Button:
    title: str
    intent: str
    entities: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    text: str
    buttons: tuple[Button, ...] = ()
    asks_location: bool = False  # the answer asks where: a front end may offer "share location"


def intake_label(intake: str) -> str:
    """'2027a' -> 'spring 2027', '2027b' -> 'autumn 2027'."""
    year, term = intake[:4], intake[4:]
    return f"{'spring' if term == 'a' else 'autumn'} {year}"


def long_date(day: dt.date) -> str:
    """A date as people write it in England: '31 January 2027'."""
    return f"{day.day} {day:%B %Y}"


def places_left_phrase(left: int | None) -> str:
    """'12 places left', '1 place left', 'full (ask about the waiting list)', or '' when the hub
    has not said."""
    if left is None:
        return ""
    if left == 0:
        return "full (ask about the waiting list)"
    return f"{left} place{'s' if left != 1 else ''} left"
