"""Custom actions against a real seeded SQLite database: build trackers, run an action, and
look at what it uttered and the events it returned."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session, sessionmaker

from actions import support


@pytest.fixture(autouse=True)
def database(session_factory: sessionmaker[Session]) -> Iterator[sessionmaker[Session]]:
    support.use_session_factory(session_factory)
    yield session_factory
    support.use_session_factory(None)


def entity(name: str, value: Any) -> dict[str, Any]:
    return {"entity": name, "value": value, "start": 0, "end": 1}


def tracker(text: str, intent: str, entities: list[dict[str, Any]] | None = None, *,
            slots: dict[str, Any] | None = None, confidence: float = 0.97,
            ranking: list[tuple[str, float]] | None = None, form: str | None = None,
            requested_slot: str | None = None, events: list[dict[str, Any]] | None = None,
            sender: str = "test-user") -> Tracker:
    """A tracker whose latest message is `text`, understood as `intent`."""
    latest = {"text": text, "intent": {"name": intent, "confidence": confidence},
              "entities": entities or [],
              "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking or []]}
    slots = {**(slots or {}), "requested_slot": requested_slot}
    history = [*(events or []), {"event": "user", "text": text, "parse_data": latest}]
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
        return "\n".join(m.get("text") or "" for m in self.messages)

    @property
    def responses(self) -> list[str]:
        return [m["response"] for m in self.messages if m.get("response")]

    @property
    def buttons(self) -> list[dict[str, str]]:
        return [b for m in self.messages for b in m.get("buttons") or []]

    def slot(self, name: str) -> Any:
        values = [e["value"] for e in self.events if e.get("event") == "slot" and e["name"] == name]
        return values[-1] if values else None


async def run(action: Action, t: Tracker, domain: dict[str, Any] | None = None) -> Outcome:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, t, domain or {})
    return Outcome(dispatcher.messages, events)
