"""Overload without silence: a user whose answer is slow is told it is coming, once per wait
(not for every message they send before their answers come; `caught_up` ends a wait, and a
later slow one is told again):

- when a chat's message has waited RASA_ACK_SECONDS without its answer, for one of the bot's
  slots or in the Rasa front's queue, bot/chat_locks.py calls `waited`;
- sooner, when the front before the Rasa servers (ops/rasa_front.py) expects the turn to take
  longer than that (a queue at a rush): `before_turn` tells at once.

    expected = await acknowledger.before_turn(chat_id)   # sends BUSY when due
    ... ask Rasa, allowing expected.seconds more than usual ...

Without a front (RASA_URL straight to one Rasa server) nothing is expected; the timer still
tells a message waiting for one of the bot's slots. Each notice takes a share of the bot's 30
Telegram calls a second, which the answers need at a rush: only those who wait are told.
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
QUEUE_SECONDS = 1.0  # the front expecting a turn to take this long: a queue, not one slow turn
QUIET_SECONDS = 120.0  # a chat told is not told again this long, unless it caught up


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

    async def waited(self, chat_id: int, started: bool) -> None:
        """A chat's message has waited `after` seconds without its answer (bot/chat_locks.py):
        tell the user it is coming, unless they know already, if the wait is a queue: its turn
        not started (every slot of the bot taken), or the front's queue long now. A turn slow
        for another reason gets the apology after RASA_PATIENCE_SECONDS instead (bot/
        conversation.py), whose words do not claim a rush."""
        if started and not self.knows(chat_id):
            seconds = await self.rasa.expected_wait(sender_id(chat_id))
            if seconds is None or seconds < QUEUE_SECONDS:
                return
        await self._tell(chat_id)

    def knows(self, chat_id: int) -> bool:
        """The user was told their answer is coming, in this wait."""
        told = self._told.get(chat_id)
        return told is not None and self.clock() - told <= self.quiet

    def caught_up(self, chat_id: int) -> None:
        """The chat has its answers (nothing more of it waits): a later long wait is told
        again."""
        self._told.pop(chat_id, None)

    async def before_turn(self, chat_id: int) -> Expected:
        """The turn's expected time; tells the user their answer is coming when it is long and
        they have not just been told."""
        seconds = await self.rasa.expected_wait(sender_id(chat_id))
        if seconds is None:
            return Expected(told=self.knows(chat_id))
        if seconds < self.after:
            return Expected(seconds, told=self.knows(chat_id))
        return Expected(seconds, told=await self._tell(chat_id))

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
