"""Custom actions against a real seeded SQLite database: build trackers, run an action, and
look at what it uttered and the events it returned.

The clock is frozen (TODAY, NOW) so deadline wording and stored timestamps are exact."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from actions import clock, support

DOMAIN: dict[str, Any] = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "domain.yml").read_text())
TODAY = dt.date(2026, 11, 22)
NOW = dt.datetime(2026, 11, 22, 9, 15, tzinfo=dt.timezone.utc)
M = TypeVar("M")


@pytest.fixture(autouse=True)
def database(session_factory: sessionmaker[Session]) -> Iterator[sessionmaker[Session]]:
    support.use_session_factory(session_factory)
    yield session_factory
    support.use_session_factory(None)


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The actions' clock (actions/clock.py) stopped at NOW, which is TODAY in England."""
    monkeypatch.setattr(clock, "now", lambda: NOW)
    assert clock.today() == TODAY


def rows(factory: sessionmaker[Session], model: type[M], chat_id: str | None = None) -> list[M]:
    """What the action committed, read back in a fresh session."""
    query = select(model)
    if chat_id is not None:
        query = query.where(model.chat_id == chat_id)  # type: ignore[attr-defined]
    with factory() as session:
        return list(session.scalars(query.order_by(model.id)))  # type: ignore[attr-defined]


def as_utc(moment: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes (stored as UTC), PostgreSQL aware ones."""
    return moment.replace(tzinfo=dt.timezone.utc) if moment.tzinfo is None else (
        moment.astimezone(dt.timezone.utc))


def entity(name: str, value: Any) -> dict[str, Any]:
    return {"entity": name, "value": value, "start": 0, "end": 1}


def tracker(text: str, intent: str, entities: list[dict[str, Any]] | None = None, *,
            slots: dict[str, Any] | None = None, confidence: float = 0.97,
            ranking: list[tuple[str, float]] | None = None, form: str | None = None,
            requested_slot: str | None = None, events: list[dict[str, Any]] | None = None,
            sender: str = "test-user", mapped: dict[str, Any] | None = None) -> Tracker:
    """A tracker whose latest message is `text`, understood as `intent`.

    `mapped` are the slots Rasa's own mappings (from_entity) filled from this message: they are
    set and also follow the user event as slot events, which is what a validation action reads
    as the candidates to validate."""
    latest = {"text": text, "intent": {"name": intent, "confidence": confidence},
              "entities": entities or [],
              "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking or []]}
    slots = {**(slots or {}), **(mapped or {}), "requested_slot": requested_slot}
    history = [*(events or []), {"event": "user", "text": text, "parse_data": latest},
               *({"event": "slot", "name": n, "value": v} for n, v in (mapped or {}).items())]
    return Tracker(sender_id=sender, slots=slots, latest_message=latest, events=history,
                   paused=False, followup_action=None,
                   active_loop={"name": form} if form else {},
                   latest_action_name="action_listen")


@dataclass
class Outcome:
    messages: list[dict[str, Any]]
    events: list[dict[str, Any]]

    @property
    def text(self) -> str:
        return "\n".join(m["text"] for m in self.messages if m.get("text"))

    @property
    def responses(self) -> list[str]:
        return [m["response"] for m in self.messages if m.get("response")]

    @property
    def buttons(self) -> list[dict[str, str]]:
        return [b for m in self.messages for b in m.get("buttons") or []]

    @property
    def custom(self) -> list[dict[str, Any]]:
        """The json messages (front-end instructions such as ask_location)."""
        return [m["custom"] for m in self.messages if m.get("custom")]

    @property
    def slots(self) -> dict[str, Any]:
        """Every slot the events set, with its last value (None: cleared)."""
        return {e["name"]: e["value"] for e in self.events if e.get("event") == "slot"}

    def slot(self, name: str) -> Any:
        values = [e["value"] for e in self.events if e.get("event") == "slot" and e["name"] == name]
        return values[-1] if values else None


async def run(action: Action, t: Tracker, domain: dict[str, Any] | None = None) -> Outcome:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, t, domain or {})
    return Outcome(dispatcher.messages, events)


async def validate(action: Action, t: Tracker) -> Outcome:
    """Run a form validation action the way Rasa does: with the real domain."""
    return await run(action, t, DOMAIN)


def asked_earlier(text: str, intent: str) -> list[dict[str, Any]]:
    """Tracker events for an earlier message of this session, understood as `intent`."""
    return [{"event": "user", "text": text,
             "parse_data": {"text": text, "intent": {"name": intent}, "entities": []}},
            {"event": "action", "name": "action_listen"}]
