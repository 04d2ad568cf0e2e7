"""Network-wide links and settings (data/catalogue/network.yaml): the official guidance, the DfE
registration service, the office's contact details and the partner fee note.

Answers read them here rather than hard-coding them, and leave a line out when staff have not
provided its value, so a half-imported catalogue never produces a broken link.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from npq.answers import Answer, Button
from npq.db.models import NetworkSetting


@dataclass(frozen=True)
class Network:
    """The values by key; `get` is None for a key staff have not set. `unconfirmed` holds the
    keys marked `checked: no`."""

    values: dict[str, str]
    unconfirmed: frozenset[str] = frozenset()

    def get(self, key: str) -> str | None:
        return self.values.get(key) or None

    def fact(self, key: str) -> str | None:
        """A fact quoted to users, with "(to be confirmed)" until staff have checked it."""
        value = self.get(key)
        if value is None or key not in self.unconfirmed:
            return value
        stop = value[-1] if value[-1] in ".!?" else ""
        return f"{value.removesuffix(stop)} (to be confirmed){stop}"


def load_network(session: Session) -> Network:
    rows = list(session.scalars(select(NetworkSetting).order_by(NetworkSetting.position)))
    return Network({row.key: row.value for row in rows},
                   frozenset(row.key for row in rows if not row.checked))


def office_contact(network: Network, *, hours: bool = True) -> str:
    """How to reach the office, in one line, with its hours unless `hours` is False ('' when no
    contact details are stored)."""
    parts = [p for p in (network.get("office_email"), network.get("office_phone")) if p]
    if not parts:
        return ""
    when = network.get("office_hours") if hours else None
    return " or ".join(parts) + (f" ({when})" if when else "")


# "what are your office hours?", "what's your phone number?", "how do I contact you?"
ASKS_FOR_OFFICE = re.compile(
    r"\b(your|the) office\b|\b(office|opening) hours\b|\bwhen (are|is) (you|your team|the "
    r"office) open\b|\byour (phone|telephone|number|email|e mail|address)\b|\bhow (do|can) i "
    r"(contact|reach|ring|call|email) (you|the team|your team|the office)\b", re.IGNORECASE)


def asks_for_office(text: str | None) -> bool:
    return isinstance(text, str) and ASKS_FOR_OFFICE.search(text[:500]) is not None


def office_answer(network: Network) -> Answer:
    """The office's e-mail, phone and hours, and a person."""
    contact = office_contact(network)
    text = (f"You can reach our office at {contact}." if contact else
            "I don't have the office's contact details, but I can pass a message to our team.")
    return Answer(text, (Button("Talk to a person", "talk_to_human"),
                         Button("What can you do?", "help")))
