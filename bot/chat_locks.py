"""One update at a time per chat, many chats at once, and no chat crowding out the others.

Rasa answers in seconds, so handling updates one by one would make every chat wait for the
slowest. The update processor below runs updates concurrently but holds a per-chat lock while
one is handled, so a chat's messages are answered in the order they were sent. Jobs that speak
to a chat (retrying kept messages) take the same lock.

Fairness: an update first waits for its chat's turn, and only then takes one of the
BOT_TURN_SLOTS slots (64). A chat therefore holds at most one slot however many messages it
sends, and the others are answered meanwhile (python-telegram-bot's own semaphore, taken before
`do_process_update`, is made wide enough never to wait: ours, taken after the chat's lock, is the
limit). A chat that sends more than FLOOD_MESSAGES messages (button presses included) within
FLOOD_WINDOW_SECONDS is told once, politely, and what it sends beyond that is dropped (counted in
the log, never its text) until the window has room again; every message within the limit waits
for its turn and is answered.

A rush: when a user's message has waited `ack_after` seconds (RASA_ACK_SECONDS) and the chat
still waits for an answer, for a slot, for its earlier messages or for Rasa, `on_waiting(chat_id)`
is called with whether its turn has started (bot/acknowledge.py tells the user their answer is
coming if the wait is a queue), once per wait: the timer
starts with the first message of a wait and a wait ends when the chat has caught up
(`on_caught_up(chat_id)`: nothing more of it waits). A timer rather than a forecast: only those
who really wait are told, since each notice takes a share of the bot's 30 Telegram calls a
second, which at Telegram's rate the answers need.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import BaseUpdateProcessor

log = logging.getLogger(__name__)
MAX_CONCURRENT_UPDATES = 64
# python-telegram-bot takes its semaphore before our processor runs: wide enough never to wait.
_UNBOUNDED = 1 << 30


class ChatLocks:
    """A lock per chat id, dropped once nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}

    @contextlib.asynccontextmanager
    async def hold(self, chat_id: int) -> AsyncIterator[None]:
        lock = self._locks.setdefault(chat_id, asyncio.Lock())
        self._users[chat_id] = self._users.get(chat_id, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[chat_id] -= 1
            if not self._users[chat_id]:
                del self._users[chat_id], self._locks[chat_id]

    def waiting(self, chat_id: int) -> int:
        """How many turns of this chat are being handled or wait for the lock."""
        return self._users.get(chat_id, 0)


class FloodLimit:
    """At most `messages` per chat within `window` seconds (a sliding window); `admit` says
    whether one more is let in, and `notify(chat_id)` is called once per flood."""

    def __init__(self, messages: int, window: float, notify: Callable[[int], Awaitable[None]],
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.messages, self.window, self.notify, self.monotonic = messages, window, notify, \
            monotonic
        self._arrivals: dict[int, deque[float]] = {}
        self._told: set[int] = set()
        self.dropped: dict[int, int] = {}  # per chat, since the bot started (for the log)

    def admit(self, chat_id: int) -> bool:
        now = self.monotonic()
        arrivals = self._arrivals.setdefault(chat_id, deque())
        while arrivals and arrivals[0] <= now - self.window:
            arrivals.popleft()
        if len(arrivals) < self.messages:
            arrivals.append(now)
            self._told.discard(chat_id)  # room again: a later flood is told again
            return True
        self.dropped[chat_id] = self.dropped.get(chat_id, 0) + 1
        if chat_id not in self._told:
            self._told.add(chat_id)
            log.warning("chat %s sent more than %d messages in %.0f s: telling it once and "
                        "dropping the rest", chat_id, self.messages, self.window)
            _background(self.notify(chat_id))
        return False

    def forget_quiet(self) -> None:
        """Drop the memory of chats with nothing in the window (called now and then)."""
        now = self.monotonic()
        quiet = [c for c, a in self._arrivals.items() if not a or a[-1] <= now - self.window]
        for chat_id in quiet:
            del self._arrivals[chat_id]
            self._told.discard(chat_id)


_tasks: set[asyncio.Task[None]] = set()


def _background(coroutine: Awaitable[None], what: str = "tell a flooding chat") -> None:
    async def run() -> None:
        try:
            await coroutine
        except Exception as error:  # a failed notice must never break the update loop
            log.warning("could not %s: %s", what, type(error).__name__)

    task = asyncio.ensure_future(run())
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


def _counted(update: object) -> int | None:
    """The private chat a user's message or button press came from (what the limit counts)."""
    if not isinstance(update, Update) or update.effective_chat is None:
        return None
    if update.effective_chat.type != ChatType.PRIVATE:
        return None
    if update.message is None and update.callback_query is None:
        return None
    return update.effective_chat.id


class PerChatProcessor(BaseUpdateProcessor):
    def __init__(self, locks: ChatLocks,
                 max_concurrent_updates: int = MAX_CONCURRENT_UPDATES) -> None:
        super().__init__(_UNBOUNDED)
        self.locks = locks
        self.slots = max_concurrent_updates
        self._turn_slots: asyncio.Semaphore | None = None
        self.flood: FloodLimit | None = None  # set by the composition root
        self.on_waiting: Callable[[int, bool], Awaitable[None]] | None = None  # the same
        self.on_caught_up: Callable[[int], None] | None = None  # the same
        self.ack_after = 3.0  # seconds (the composition root sets RASA_ACK_SECONDS)
        self._updates: dict[int, int] = {}  # chat id -> its updates waiting or being handled
        self._waits: dict[int, object] = {}  # chat id -> its current wait (what a timer checks)
        self._started: set[int] = set()  # chats whose current wait has a turn under way
        self._seen = 0

    def _slot(self) -> asyncio.Semaphore:
        if self._turn_slots is None:  # made in the running loop
            self._turn_slots = asyncio.Semaphore(self.slots)
        return self._turn_slots

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        flooding = _counted(update)
        if flooding is not None and self.flood is not None and not self.flood.admit(flooding):
            if inspect.iscoroutine(coroutine):
                coroutine.close()  # dropped: never started
            return
        self._seen += 1
        if self.flood is not None and self._seen % 1000 == 0:
            self.flood.forget_quiet()
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            async with self._slot():
                await coroutine
            return
        earlier = self._updates.get(chat.id, 0)
        if flooding is not None and self.on_waiting is not None and chat.id not in self._waits:
            wait = self._waits[chat.id] = object()  # a user's message starts a wait
            _background(self._tell_if_still_waiting(chat.id, wait), "tell a waiting chat")
        self._updates[chat.id] = earlier + 1
        try:
            async with self.locks.hold(chat.id), self._slot():  # the chat's turn, then a slot
                self._started.add(chat.id)
                await coroutine
        finally:
            self._updates[chat.id] -= 1
            if not self._updates[chat.id]:  # nothing more of this chat waits
                del self._updates[chat.id]
                self._waits.pop(chat.id, None)
                self._started.discard(chat.id)
                if self.on_caught_up is not None:
                    self.on_caught_up(chat.id)

    async def _tell_if_still_waiting(self, chat_id: int, wait: object) -> None:
        await asyncio.sleep(self.ack_after)  # a timer: what the user sees, not synchronisation
        if self._waits.get(chat_id) is wait and self.on_waiting is not None:
            await self.on_waiting(chat_id, chat_id in self._started)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to free."""
