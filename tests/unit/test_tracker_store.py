"""What the turn log reads from Rasa's SQL tracker store (bot/tracker.py) instead of asking the
Rasa server for the whole tracker: the latest parse, the form asking, the `pending` slot."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from bot.tracker import TrackerStore
from tests.support.bot_harness import RASA_EVENTS

HUB = {"intent": {"name": "find_hub", "confidence": 0.93},
       "intent_ranking": [{"name": "find_hub", "confidence": 0.93}],
       "entities": [{"entity": "location", "value": "Leeds"}]}


def store(path: Path, *events: tuple[str, str, dict[str, Any]]) -> TrackerStore:
    with sqlite3.connect(path) as db:
        db.execute(RASA_EVENTS)
        db.executemany("INSERT INTO events (sender_id, type_name, action_name, data) "
                       "VALUES (?, ?, ?, ?)",
                       [(sender, data["event"], data.get("name"), json.dumps(data))
                        for sender, _, data in events])
    return TrackerStore(f"sqlite:///{path}")


def user(sender: str, text: str, parse: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    return sender, "user", {"event": "user", "text": text, "parse_data": {"text": text, **parse}}


def event(sender: str, kind: str, **data: Any) -> tuple[str, str, dict[str, Any]]:
    return sender, kind, {"event": kind, **data}


async def test_the_latest_parse_and_what_the_assistant_is_asking(tmp_path: Path) -> None:
    tracker = store(
        tmp_path / "rasa-tracker.db",
        user("7", "recommend me an npq", {"intent": {"name": "recommend_npq"}}),
        event("7", "active_loop", name="recommend_form"),
        event("7", "slot", name="pending", value={"kind": "find_hub"}),
        user("7", "hub near leeds", HUB),
        user("8", "hello", {"intent": {"name": "greet"}}),
    )
    state = await tracker.turn_state("7")
    assert state["latest_message"] == {"text": "hub near leeds", **HUB}
    assert state["active_loop"] == {"name": "recommend_form"}
    assert state["slots"] == {"pending": {"kind": "find_hub"}}
    tracker.dispose()


async def test_a_new_session_ends_the_form_and_carries_the_slots_over(tmp_path: Path) -> None:
    tracker = store(
        tmp_path / "rasa-tracker.db",
        event("7", "active_loop", name="recommend_form"),
        event("7", "slot", name="pending", value={"kind": "find_hub"}),
        event("7", "session_started"),
        event("7", "slot", name="pending", value={"kind": "find_hub"}),  # carried over
        user("7", "hub near leeds", HUB),
    )
    state = await tracker.turn_state("7")
    assert state["active_loop"] == {} and state["slots"] == {"pending": {"kind": "find_hub"}}
    tracker.dispose()


async def test_a_restart_forgets_everything(tmp_path: Path) -> None:
    tracker = store(tmp_path / "rasa-tracker.db",
                    event("7", "active_loop", name="recommend_form"),
                    event("7", "slot", name="pending", value={"kind": "find_hub"}),
                    event("7", "restart"), user("7", "hello", {"intent": {"name": "greet"}}))
    state = await tracker.turn_state("7")
    assert (state["active_loop"], state["slots"]) == ({}, {})
    assert state["latest_message"]["intent"] == {"name": "greet"}


async def test_a_conversation_rasa_never_stored(tmp_path: Path) -> None:
    state = await TrackerStore(f"sqlite:///{tmp_path / 'none.db'}").turn_state("7")
    assert state["latest_message"] is None
