"""Overload without silence: when the front before the Rasa servers (ops/rasa_front.py) expects
a turn to take longer than RASA_ACK_SECONDS (a queue, at a rush), the user is told at once that
their answer is coming; once per wait, not for every message they send before their answers
come (`caught_up`: a later long wait is told again).

    expected = await acknowledger.before_turn(chat_id)   # sends BUSY when due
    ... ask Rasa, allowing expected.seconds more than usual ...

Without a front (RASA_URL straight to one Rasa server) nothing is expected and nothing sent.

The bot's own queue counts too: a message that arrives when every one of the bot's turn slots
is taken (bot/chat_locks.py) is told at arrival (`queued`), before it waits for a slot, since
asking the front only happens once it has one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from telegram.error import TelegramError
from telegram.ext import ExtBot

from bot.rasa_client import RasaClient
from bot.render import BUSY, sender_id

log = logging.getLogger(__name__)
QUIET_SECONDS = 120.0  # after telling a chat, not told again this long, unless answered


@dataclass(frozen=True)
class Expected:
    seconds: float = 0.0  # how long the turn should take, queue included
    told: bool = False  # the user knows the answer is coming (no apology for the wait needed)


class Acknowledger:
    def __init__(self, bot: ExtBot[Any], rasa: RasaClient, *, after: float,
                 clock: Callable[[], float] = time.monotonic,
                 quiet: float = QUIET_SECONDS) -> None:
        self.bot, self.rasa, self.after, self.clock, self.quiet = bot, rasa, after, clock, quiet
        self._told: dict[int, float] = {}  # chat id -> when it was last told
        self._queued: dict[int, float] = {}  # told at arrival, their turn not started yet

    async def queued(self, chat_id: int) -> None:
        """A message that must wait for one of the bot's slots (a rush): tell the user now
        (unless they were just told); its turn then needs no apology for the wait."""
        self._queued[chat_id] = self.clock()
        await self._tell(chat_id)

    def caught_up(self, chat_id: int) -> None:
        """The chat has its answers (nothing more of it waits): a later long wait is told
        again."""
        self._told.pop(chat_id, None)

    async def before_turn(self, chat_id: int) -> Expected:
        """The turn's expected time; tells the user their answer is coming when it is long and
        they have not just been told."""
        arrived = self._queued.pop(chat_id, None)
        queued = arrived is not None and self.clock() - arrived <= self.quiet
        seconds = await self.rasa.expected_wait(sender_id(chat_id))
        if seconds is None:
            return Expected(told=queued)
        if seconds < self.after:
            return Expected(seconds, told=queued)
        return Expected(seconds, told=await self._tell(chat_id) or queued)

    async def _tell(self, chat_id: int) -> bool:
        """Say the answer is coming, unless this chat was told within `quiet`; whether the
        user knows."""
        now = self.clock()
        told = self._told.get(chat_id)
        if told is not None and now - told <= self.quiet:
            return True
        self._told[chat_id] = now  # before sending: a second arrival meanwhile is not told
        try:
            await self.bot.send_message(chat_id, BUSY)
        except TelegramError as error:
            log.warning("could not tell a chat its answer is coming: %s", error)
            del self._told[chat_id]
            return False
        self._forget_before(now - self.quiet)
        return True

    def _forget_before(self, moment: float) -> None:
        if len(self._told) > 1000:
            self._told = {chat: at for chat, at in self._told.items() if at >= moment}
        if len(self._queued) > 1000:  # turns that never asked (a command, a dropped update)
            self._queued = {chat: at for chat, at in self._queued.items() if at >= moment}
