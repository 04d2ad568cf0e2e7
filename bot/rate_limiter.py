"""Sending within Telegram's limits, and through its bad moments.

PTB's AIORateLimiter keeps us under Telegram's flood limits (about 30 messages a second, 20 a
minute per group) and retries a 429 after the `retry_after` Telegram asks for. This subclass
also retries 5xx answers and network errors (timeouts included) with exponential backoff.
A 400 (BadRequest) is our mistake and is never retried; 403 (blocked by the user) neither.
When these retries are used up, a reply waits in the outbox (bot/outbox.py) and is sent later.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import BadRequest, NetworkError
from telegram.ext import AIORateLimiter

log = logging.getLogger(__name__)


class RetryingRateLimiter(AIORateLimiter):
    def __init__(self, *, retries: int = 3, backoff_seconds: float = 1.0,
                 max_retries_after_429: int = 3) -> None:
        super().__init__(max_retries=max_retries_after_429)
        self.retries = retries
        self.backoff_seconds = backoff_seconds

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        for attempt in range(self.retries + 1):
            try:
                return await super().process_request(callback, args, kwargs, endpoint, data,
                                                      rate_limit_args)
            except BadRequest:
                raise
            except NetworkError as error:
                if attempt == self.retries:
                    raise
                delay = self.backoff_seconds * 2 ** attempt
                # The error's type only: its text may quote the request.
                log.warning("Telegram %s failed (%s); retry %d of %d in %.1f s", endpoint,
                            type(error).__name__, attempt + 1, self.retries, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")
