"""The bot's database access: one session per unit of work, in a worker thread (the event loop
keeps serving other chats while SQLite or PostgreSQL answers)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from npq.db import make_engine, make_session_factory, session_scope

T = TypeVar("T")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Database:
    """Built once in the composition root; `dispose()` on shutdown."""

    def __init__(self, database_url: str) -> None:
        self.engine: Engine = make_engine(database_url)
        self.factory: sessionmaker[Session] = make_session_factory(self.engine)

    async def run(self, work: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """`work(session, *args, **kwargs)` in one transaction, committed when it returns."""
        def unit() -> T:
            with session_scope(self.factory) as session:
                return work(session, *args, **kwargs)

        return await asyncio.to_thread(unit)

    def dispose(self) -> None:
        self.engine.dispose()
