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

import asyncio
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
        self._draining = asyncio.Lock()

    def _lines(self) -> list[str]:
        try:
            return self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []

    def _read(self, lines: list[str] | None = None) -> list[dict[str, Any]]:
        items = []
        for line in self._lines() if lines is None else lines:
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
        """Move the file's messages into the database, in order; False if it still fails.
        One drain at a time (the retry job and a chat's turn may both ask), and a message
        added while the database writes is left in the file for the next drain."""
        async with self._draining:
            lines = self._lines()
            items = self._read(lines)
            if items:
                try:
                    await self.db.run(_keep_all, items)
                except SQLAlchemyError as error:
                    log.warning("spool not drained yet: %s", type(error).__name__)
                    return False
                log.info("database back: %d spooled message(s) kept for answering",
                         len(items))
            self._drop(len(lines))
            return True

    def _drop(self, count: int) -> None:
        """Remove the first `count` lines (drained), keeping any added since."""
        rest = self._lines()[count:]
        if rest:
            temporary = self.path.with_name(self.path.name + ".tmp")
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, ("\n".join(rest) + "\n").encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temporary, self.path)
        else:
            self.path.unlink(missing_ok=True)
        self._chats = {int(item["chat_id"]) for item in self._read(rest)}
        self._told &= self._chats


def _keep_all(session: Session, items: list[dict[str, Any]]) -> None:
    for item in items:
        keep(session, sender_id(int(item["chat_id"])), str(item["message"]),
             typed=bool(item["typed"]), key=item.get("key"),
             now=dt.datetime.fromisoformat(item["at"]))


