"""Erasing a conversation from Rasa's SQL tracker store, for "forget me".

Rasa's HTTP API can replace a conversation's events, but its SQL tracker store only ever
appends rows, so the words someone asked us to forget would stay in its `events` table. The bot
deletes them there, after the turn (never during one: Rasa would write the turn's events after
us). Our code never imports `rasa`: this is plain SQL on Rasa's documented table.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from npq.db import make_engine
from npq.retention import purge_conversations

log = logging.getLogger(__name__)
DELETE = text("DELETE FROM events WHERE sender_id = :sender")


class TrackerEraser:
    def __init__(self, tracker_store_url: str) -> None:
        self._url = tracker_store_url
        self._engine: Engine | None = None

    def _connect(self) -> Engine | None:
        url = make_url(self._url)
        if url.get_backend_name() == "sqlite" and not (url.database and
                                                       Path(url.database).exists()):
            return None  # Rasa has not written there (yet): nothing to erase
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

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
