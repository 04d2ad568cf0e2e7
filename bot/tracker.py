"""Rasa's SQL tracker store, read and erased by the bot (our code never imports `rasa`: this is
plain SQL on Rasa's documented `events` table: id, sender_id, type_name, action_name, data).

Reading: the turn log (bot/turns.py) needs what the model made of the message just answered
(the latest `user` event's parse) and whether the assistant is now asking something (the
latest `active_loop` event, the latest value of the `pending` slot). Rasa has stored the turn's
events before it answers, so three indexed queries here replace a second request to the Rasa
server per turn: GET /conversations/{id}/tracker rebuilds the whole tracker from every event
the conversation ever had, on the process that answers everyone.

The same read says how long the conversation's current Rasa session is: Rasa rebuilds the
tracker from the session's events on every turn, so a long conversation's turns slow down, and
the bot starts a new session once it is long (bot/conversation.py).

Erasing, for "forget me": Rasa's HTTP API can replace a conversation's events, but its SQL
tracker store only ever appends rows, so the words someone asked us to forget would stay in its
`events` table. The bot deletes them here, after the turn (never during one: Rasa would write
the turn's events after us).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from npq.db import make_engine
from npq.retention import purge_conversations

log = logging.getLogger(__name__)
DELETE = text("DELETE FROM events WHERE sender_id = :sender")
# The latest event of these types, for one conversation (ids grow in the order Rasa stored them).
LATEST = ("SELECT type_name, data FROM events WHERE sender_id = :sender AND ({}) "
          "ORDER BY id DESC LIMIT 1")
LATEST_USER = text(LATEST.format("type_name = 'user'"))
# A session start or a restart ends any form; nothing else does but an `active_loop` event.
LATEST_LOOP = text(LATEST.format("type_name IN ('active_loop', 'restart', 'session_started')"))
# Events since the conversation's latest session start (Rasa reads and replays these every turn).
SESSION_EVENTS = text(
    "SELECT COUNT(*) FROM events WHERE sender_id = :sender AND id > (SELECT COALESCE(MAX(id), 0) "
    "FROM events WHERE sender_id = :sender AND type_name = 'session_started')")
# A new session carries slots over as `slot` events stored after its `session_started`.
LATEST_PENDING = text(LATEST.format(
    "(type_name = 'slot' AND action_name = 'pending') OR "
    "type_name IN ('restart', 'reset_slots', 'session_started')"))


class TrackerUnavailable(Exception):
    """The tracker store could not be read."""


class TrackerStore:
    def __init__(self, tracker_store_url: str) -> None:
        self._url = tracker_store_url
        self._engine: Engine | None = None

    def _connect(self) -> Engine | None:
        url = make_url(self._url)
        if url.get_backend_name() == "sqlite" and not (url.database and
                                                       Path(url.database).exists()):
            return None  # Rasa has not written there (yet): nothing to read or erase
        if self._engine is None:
            self._engine = make_engine(self._url)
        return self._engine

    def _erase(self, sender: str) -> int:
        engine = self._connect()
        if engine is None:
            return 0
        with engine.begin() as connection:
            return int(connection.execute(DELETE, {"sender": sender}).rowcount)

    async def erase(self, sender: str) -> int | None:
        """Delete every stored event of `sender`; how many went, or None when it failed (logged:
        the caller says so and tries again later)."""
        try:
            return await asyncio.to_thread(self._erase, sender)
        except SQLAlchemyError as error:
            log.error("could not erase a conversation from the tracker store: %s",
                      type(error).__name__)
            return None

    def _purge(self, now: dt.datetime, days: int) -> int:
        engine = self._connect()
        return 0 if engine is None else purge_conversations(engine, now=now, days=days)

    async def purge(self, now: dt.datetime, days: int) -> int:
        """Delete every stored event older than `days` (CONVERSATION_RETENTION_DAYS)."""
        return await asyncio.to_thread(self._purge, now, days)

    def _state(self, sender: str) -> dict[str, Any]:
        engine = self._connect()
        if engine is None:
            return {"latest_message": None, "active_loop": {}, "slots": {}, "events": 0}
        with engine.connect() as connection:
            events = int(connection.execute(SESSION_EVENTS, {"sender": sender}).scalar() or 0)
            user = _latest(connection, LATEST_USER, sender)
            loop = _latest(connection, LATEST_LOOP, sender)
            pending = _latest(connection, LATEST_PENDING, sender)
        latest = None
        if user is not None:
            latest = {"text": user.get("text"), **(user.get("parse_data") or {})}
        return {"latest_message": latest,
                "active_loop": {"name": loop.get("name")} if loop and
                loop.get("event") == "active_loop" else {},
                "slots": {"pending": pending.get("value")} if pending and
                pending.get("event") == "slot" else {},
                "events": events}

    async def turn_state(self, sender: str) -> dict[str, Any]:
        """What Rasa's tracker would say of the conversation now, as far as the turn log
        needs it: `latest_message` (the parse of the last user message: text, intent,
        intent_ranking, entities), `active_loop` ({"name": ...} while a form asks), `slots`
        (`pending` only), and `events`: how many the current Rasa session holds."""
        try:
            return await asyncio.to_thread(self._state, sender)
        except (SQLAlchemyError, ValueError) as error:
            raise TrackerUnavailable(type(error).__name__) from error

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


def _latest(connection: Connection, query: Any, sender: str) -> dict[str, Any] | None:
    row = connection.execute(query, {"sender": sender}).first()
    if row is None:
        return None
    event = json.loads(row.data)
    return event if isinstance(event, dict) else None
