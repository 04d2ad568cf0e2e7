"""Network-wide links and settings (data/catalogue/network.yaml): the official guidance, the DfE
registration service, the office's contact details and the partner fee note.

Answers read them here rather than hard-coding them, and leave a line out when staff have not
provided its value, so a half-imported catalogue never produces a broken link.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from npq.db.models import NetworkSetting


@dataclass(frozen=True)
class Network:
    """The values by key; `get` is None for a key staff have not set."""

    values: dict[str, str]

    def get(self, key: str) -> str | None:
        return self.values.get(key) or None


def load_network(session: Session) -> Network:
    rows = session.scalars(select(NetworkSetting).order_by(NetworkSetting.position))
    return Network({row.key: row.value for row in rows})


def office_contact(network: Network) -> str:
    """How to reach the office, in one line ('' when no contact details are stored)."""
    parts = [p for p in (network.get("office_email"), network.get("office_phone")) if p]
    if not parts:
        return ""
    hours = network.get("office_hours")
    return " or ".join(parts) + (f" ({hours})" if hours else "")
