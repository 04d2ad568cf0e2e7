"""Messages that arrive while the database is unreachable, kept in a small local file.

Kept messages live in the database (bot/pending.py); when the database itself does not answer,
a message is appended to SPOOL_FILE (one JSON line each, flushed to disk, readable by the bot's
user only) and its sender told once. The retry job, and the chat's next message, move the file's
messages into the database in the order they came as soon as it answers again; from there they
are answered like any kept message. While a chat has messages in the file, its new messages go
there too, so its answers keep their order.

One file per bot process: replicas each have their own (set SPOOL_FILE per replica).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.db import Database, utcnow
from bot.pending import keep
from bot.render import sender_id

log = logging.getLogger(__name__)


class Spool:
    def __init__(self, path: Path | str, db: Database,
                 clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.path, self.db, self.clock = Path(path), db, clock
        self._chats: set[int] = {int(item["chat_id"]) for item in self._read()}
        self._told: set[int] = set()

    def _read(self) -> list[dict[str, Any]]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        items = []
        for line in lines:
            try:
                items.append(json.loads(line))
            except ValueError:  # a line cut short by a crash: nothing to keep in it
                log.error("spool: an unreadable line skipped")
        return items

    def has(self, chat_id: int) -> bool:
        return chat_id in self._chats

    @property
    def empty(self) -> bool:
        return not self._chats

    def add(self, chat_id: int, message: str, *, typed: bool, key: str | None) -> bool:
        """Keep a message in the file; True the first time for this chat (tell them once)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"chat_id": chat_id, "message": message, "typed": typed, "key": key,
                           "at": self.clock().isoformat()}, ensure_ascii=False)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (line + "\n").encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        self._chats.add(chat_id)
        first = chat_id not in self._told
        self._told.add(chat_id)
        log.warning("database unreachable: a message kept in the local spool")
        return first

    async def drain(self) -> bool:
        """Move the file's messages into the database, in order; False if it still fails."""
        items = self._read()
        if not items:
            self._chats.clear()
            return True
        try:
            await self.db.run(_keep_all, items)
        except SQLAlchemyError as error:
            log.warning("spool not drained yet: %s", type(error).__name__)
            return False
        self.path.unlink(missing_ok=True)
        self._chats.clear()
        self._told.clear()
        log.info("database back: %d spooled message(s) kept for answering", len(items))
        return True


def _keep_all(session: Session, items: list[dict[str, Any]]) -> None:
    for item in items:
        keep(session, sender_id(int(item["chat_id"])), str(item["message"]),
             typed=bool(item["typed"]), key=item.get("key"),
             now=dt.datetime.fromisoformat(item["at"]))


