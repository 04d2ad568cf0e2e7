"""One turn with the assistant: ask Rasa (typing shown, an apology if it is slow), log what the
model made of a typed message (bot/turns.py), send the replies (with thumbs up/down under an
answer to a question, the location keyboard when asked where: bot/location_keyboard.py), and
keep the message for later when Rasa or the action server cannot answer (bot/pending.py).

Handlers call `turn` while the update processor holds the chat's lock; the retry job takes the
same lock before answering kept messages, so a chat's answers stay in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from telegram import InlineKeyboardMarkup
from telegram.constants import ChatAction
from telegram.error import TelegramError
from telegram.ext import ExtBot

from bot.acknowledge import Acknowledger, Expected
from bot.buttons import ButtonCodec
from bot.feedback import PROMPT, thumbs, with_thumbs
from bot.handoff import Handoff
from bot.location_keyboard import LocationKeyboard, Outgoing
from bot.pending import KeptMessages, actions_down
from bot.rasa_client import RasaClient, RasaReply, RasaUnavailable, wants_erasure
from bot.render import NO_ANSWER, STILL_WORKING, UNAVAILABLE, sender_id, split_text
from bot.tracker import TrackerEraser
from bot.turns import TurnRecorder

log = logging.getLogger(__name__)
TYPING_EVERY = 4.5  # Telegram shows "typing…" for about 5 seconds


class Conversation:
    def __init__(self, bot: ExtBot[Any], rasa: RasaClient, buttons: ButtonCodec,
                 handoff: Handoff, kept: KeptMessages, *, tracker: TrackerEraser,
                 recorder: TurnRecorder, patience: float,
                 acknowledger: Acknowledger | None = None) -> None:
        self.bot, self.rasa, self.buttons, self.tracker = bot, rasa, buttons, tracker
        self.recorder, self.handoff, self.kept, self.patience = recorder, handoff, kept, patience
        self.acknowledger = acknowledger
        self.location_keyboard = LocationKeyboard()

    async def turn(self, chat_id: int, message: str, *, typed: bool,
                   name: str | None = None) -> None:
        """A user's message (typed text, or a payload we built): answer it, or keep it.
        `name` (the user's first name) labels a request to talk to a person."""
        if await self.kept.waiting(chat_id):  # answer in order: older ones first
            fresh = await self.kept.keep(chat_id, message, typed=typed)
            await self.kept.answer_in_order(chat_id, self, fresh=fresh)
            return
        try:
            replies = await self.ask(chat_id, message, typed=typed, patient=True)
        except RasaUnavailable as failure:
            log.warning("Rasa unavailable, message kept: %s", failure)
            await self.kept.keep(chat_id, message, typed=typed)
            await self.bot.send_message(chat_id, UNAVAILABLE)
            return
        if not replies and await actions_down(self.rasa):
            log.warning("empty answer while the action server is down: message kept")
            await self.kept.keep(chat_id, message, typed=typed)
            await self.bot.send_message(chat_id, UNAVAILABLE)
            return
        await self.deliver(chat_id, replies, name=name,
                           rate=await self._record(chat_id, message, replies, typed=typed))

    async def reply(self, chat_id: int, message: str, replies: list[RasaReply], *,
                    typed: bool) -> None:
        """Log a kept message now answered, and send its answer (bot.pending's KeptMessages)."""
        await self.deliver(chat_id, replies, rate=await self._record(chat_id, message, replies,
                                                                     typed=typed))

    async def ask(self, chat_id: int, message: str, *, typed: bool,
                  patient: bool) -> list[RasaReply]:
        """Rasa's replies to a message; `patient`: say the answer is coming when a queue is
        expected (bot/acknowledge.py), else apologise if it takes long."""
        sender = sender_id(chat_id)
        expected = Expected()
        if patient and self.acknowledger is not None:
            expected = await self.acknowledger.before_turn(chat_id)
        queued = expected.seconds
        asking = asyncio.ensure_future(self.rasa.send_text(sender, message, queued=queued)
                                       if typed else
                                       self.rasa.send_payload(sender, message, queued=queued))
        try:
            async with self._typing(chat_id):
                if patient and not expected.told:
                    done, _ = await asyncio.wait({asking}, timeout=self.patience)
                    if not done:
                        await self.bot.send_message(chat_id, STILL_WORKING)
                return await asking
        finally:
            asking.cancel()

    async def _record(self, chat_id: int, message: str, replies: list[RasaReply], *,
                      typed: bool) -> int | None:
        """Log a typed message; the message_log id when its answer should offer thumbs."""
        if not typed:
            return None
        recorded = await self.recorder.record(sender_id(chat_id), message, replies)
        return recorded.message_id if recorded and recorded.offer_feedback else None

    @contextlib.asynccontextmanager
    async def _typing(self, chat_id: int) -> AsyncIterator[None]:
        async def typing() -> None:
            with contextlib.suppress(TelegramError):
                await self.bot.send_chat_action(chat_id, ChatAction.TYPING)

        async def keep_typing() -> None:
            while True:
                await asyncio.sleep(TYPING_EVERY)
                await typing()

        await typing()
        task = asyncio.ensure_future(keep_typing())
        try:
            yield
        finally:
            task.cancel()

    async def deliver(self, chat_id: int, replies: list[RasaReply], *,
                      name: str | None = None, rate: int | None = None) -> None:
        """Send Rasa's replies: long texts split, buttons under the last piece, the location
        keyboard offered when asked for and removed on the next answer; with `rate` (the
        message_log id of the question) thumbs up/down under the last piece."""
        outgoing: Outgoing = []
        visible = [r for r in replies if r.text or r.buttons]
        if not visible:
            log.warning("Rasa sent no reply; see the Rasa and action server logs")
            outgoing.append((NO_ANSWER, None))
        for reply in visible:
            pieces = split_text(reply.text or "Choose one:")
            keyboard = await self.buttons.keyboard(reply.buttons)
            outgoing += [(piece, keyboard if i == len(pieces) - 1 else None)
                         for i, piece in enumerate(pieces)]
        self.location_keyboard.apply(chat_id, outgoing, replies)
        if rate is not None and visible:
            text, markup = outgoing[-1]
            row = thumbs(self.buttons, rate)
            if markup is None or isinstance(markup, InlineKeyboardMarkup):
                outgoing[-1] = (text, with_thumbs(markup, row))
            else:  # it removes the location keyboard: a message carries one keyboard
                outgoing.append((PROMPT, InlineKeyboardMarkup([row])))
        for text, markup in outgoing:
            await self.bot.send_message(chat_id, text, reply_markup=markup)
        if wants_erasure(replies):
            await self._erase(chat_id)
        await self.handoff.after_turn(chat_id, name)

    async def _erase(self, chat_id: int) -> None:
        """Forget me: what is still waiting here, and the conversation Rasa keeps."""
        sender = sender_id(chat_id)
        await self.kept.forget(chat_id)
        try:
            await self.rasa.erase_conversation(sender)
        except RasaUnavailable as failure:
            log.error("could not erase a conversation Rasa keeps: %s", failure)
        await self.tracker.erase(sender)
