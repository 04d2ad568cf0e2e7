"""Claims on shared rows (kept messages, the outbox) that do not expire while their holder works.

A replica claims rows with a token of its own and a time (`CLAIM` from now). While it works it
renews the claim every RENEW_EVERY seconds (a heartbeat), so a slow Rasa turn or a long
retry_after never lets the claim lapse and a second replica take the same rows; only a replica
that died stops renewing, and its claim then expires on its own. Every write that finishes the
work (answered, sent) names the token, and `holding` turns False when a renewal finds the
claim gone, so the holder stops rather than answer twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
CLAIM = dt.timedelta(seconds=120)
RENEW_EVERY = 20.0  # seconds of real time; well inside CLAIM


def new_token() -> str:
    return uuid.uuid4().hex


class _Database(Protocol):
    async def run(self, work: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any: ...


class Heartbeat:
    """Renew a claim while the body runs: `async with Heartbeat(db, renew, token, clock):`.
    `renew(session, token, now)` returns how many rows the token still holds."""

    def __init__(self, db: _Database, renew: Callable[[Session, str, dt.datetime], int],
                 token: str, clock: Callable[[], dt.datetime], *,
                 every: float | None = None, renewed: asyncio.Event | None = None) -> None:
        self.db, self.renew, self.token, self.clock = db, renew, token, clock
        self.every = RENEW_EVERY if every is None else every
        self.renewed = renewed  # set after each renewal (tests wait for it)
        self.holding = True
        self._task: asyncio.Task[None] | None = None

    async def beat(self) -> None:
        try:
            held = await self.db.run(self.renew, self.token, self.clock())
        except SQLAlchemyError as error:  # the database is down: the claim stands until then
            log.warning("claim not renewed: %s", type(error).__name__)
            return
        if not held:
            self.holding = False
        if self.renewed is not None:
            self.renewed.set()

    async def _run(self) -> None:
        while self.holding:
            await asyncio.sleep(self.every)
            await self.beat()

    async def __aenter__(self) -> Heartbeat:
        self._task = asyncio.ensure_future(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
