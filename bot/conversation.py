"""One turn with the assistant: ask Rasa (typing shown, an apology if it is slow), log what the
model made of a typed message (bot/turns.py), send the replies (with thumbs up/down under an
answer to a question), and keep the message for later when Rasa or the action server cannot
answer.

Handlers call `turn` while the update processor holds the chat's lock; the retry job takes the
same lock before answering kept messages, so a chat's answers stay in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from telegram import InlineKeyboardMarkup, ReplyKeyboardMarkup, ReplyKeyboardRemove
from telegram.constants import ChatAction
from telegram.error import TelegramError
from telegram.ext import ExtBot

from bot import pending
from bot.buttons import ButtonCodec
from bot.chat_locks import ChatLocks
from bot.db import Database
from bot.feedback import PROMPT, thumbs, with_thumbs
from bot.handoff import Handoff
from bot.rasa_client import RasaClient, RasaReply, RasaUnavailable, wants_erasure, wants_location
from bot.render import (
    GIVE_UP,
    LATE_ANSWER,
    LOCATION_PROMPT,
    NO_ANSWER,
    STILL_WORKING,
    UNAVAILABLE,
    location_keyboard,
    quoted,
    sender_id,
    split_text,
)
from bot.tracker import TrackerEraser
from bot.turns import TurnRecorder

log = logging.getLogger(__name__)
TYPING_EVERY = 4.5  # Telegram shows "typing…" for about 5 seconds
MAX_ATTEMPTS = 3  # answers that came back empty while the action server was down
Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None


class Conversation:
    def __init__(self, bot: ExtBot[Any], rasa: RasaClient, db: Database, buttons: ButtonCodec,
                 handoff: Handoff, locks: ChatLocks, clock: Callable[[], dt.datetime], *,
                 tracker: TrackerEraser, recorder: TurnRecorder, patience: float,
                 give_up_after: dt.timedelta) -> None:
        self.bot, self.rasa, self.db, self.buttons, self.tracker = bot, rasa, db, buttons, tracker
        self.recorder = recorder
        self.handoff, self.locks, self.clock = handoff, locks, clock
        self.patience, self.give_up_after = patience, give_up_after
        self._asked_location: set[int] = set()  # chats showing the share-location keyboard

    async def turn(self, chat_id: int, message: str, *, typed: bool,
                   name: str | None = None) -> None:
        """A user's message (typed text, or a payload we built): answer it, or keep it.
        `name` (the user's first name) labels a request to talk to a person."""
        sender = sender_id(chat_id)
        if await self.db.run(pending.has_pending, sender):  # answer in order: older ones first
            fresh = await self.db.run(pending.keep, sender, message, typed=typed, now=self.clock())
            await self._answer_kept(chat_id, fresh=fresh)
            return
        try:
            replies = await self._ask(chat_id, message, typed=typed, patient=True)
        except RasaUnavailable as failure:
            log.warning("Rasa unavailable, message kept: %s", failure)
            await self.db.run(pending.keep, sender, message, typed=typed, now=self.clock())
            await self.bot.send_message(chat_id, UNAVAILABLE)
            return
        if not replies and await self._actions_down():
            log.warning("empty answer while the action server is down: message kept")
            await self.db.run(pending.keep, sender, message, typed=typed, now=self.clock())
            await self.bot.send_message(chat_id, UNAVAILABLE)
            return
        await self.deliver(chat_id, replies, name=name,
                           rate=await self._record(chat_id, message, replies, typed=typed))

    async def retry_kept(self) -> None:
        """The retry job: give up on messages kept too long, then answer the rest if Rasa (and
        the action server) are back."""
        now = self.clock()
        for kept in await self.db.run(pending.expired, now - self.give_up_after, now):
            with contextlib.suppress(TelegramError):
                await self.bot.send_message(int(kept.chat_id), GIVE_UP.format(what=_what(kept)))
        chats = await self.db.run(pending.chats_waiting, now)
        if not chats or not await self.rasa.healthy():
            return
        for chat in chats:
            if chat.lstrip("-").isdigit():
                async with self.locks.hold(int(chat)):
                    if not await self._answer_kept(int(chat)):
                        return  # down again: try later

    async def _answer_kept(self, chat_id: int, *, fresh: int | None = None) -> bool:
        """Answer a chat's kept messages in order; False if Rasa failed again. `fresh` is the
        message just received (no "thanks for waiting" before its answer)."""
        kept = await self.db.run(pending.claim_chat, sender_id(chat_id), self.clock())
        for index, message in enumerate(kept):
            rest = [k.id for k in kept[index:]]
            try:
                replies = await self._ask(chat_id, message.message, typed=message.typed,
                                          patient=False)
            except RasaUnavailable as failure:
                log.warning("Rasa still unavailable: %s", failure)
                await self.db.run(pending.release, rest)
                if fresh in rest:  # the message just received is kept too
                    await self.bot.send_message(chat_id, UNAVAILABLE)
                return False
            if not replies and await self._actions_down():
                if message.attempts + 1 >= MAX_ATTEMPTS:  # it was tried enough: let it go
                    await self.db.run(pending.answered, message.id)
                    await self.bot.send_message(chat_id, GIVE_UP.format(what=_what(message)))
                    continue
                await self.db.run(pending.release, [message.id], tried=True)
                await self.db.run(pending.release, rest[1:])
                if fresh in rest:  # the message just received is kept too
                    await self.bot.send_message(chat_id, UNAVAILABLE)
                return False
            if message.id != fresh:
                await self.bot.send_message(chat_id, LATE_ANSWER.format(what=_what(message)))
            await self.deliver(chat_id, replies, rate=await self._record(
                chat_id, message.message, replies, typed=message.typed))
            await self.db.run(pending.answered, message.id)
        return True

    async def _ask(self, chat_id: int, message: str, *, typed: bool,
                   patient: bool) -> list[RasaReply]:
        sender = sender_id(chat_id)
        asking = asyncio.ensure_future(self.rasa.send_text(sender, message) if typed
                                       else self.rasa.send_payload(sender, message))
        try:
            async with self._typing(chat_id):
                if patient:
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

    async def _actions_down(self) -> bool:
        """An empty answer means an action failed; worth keeping only if the action server is
        known and down (a failing action on a healthy server would fail again)."""
        return self.rasa.knows_action_server and not await self.rasa.healthy()

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
        outgoing: list[tuple[str, Markup]] = []
        visible = [r for r in replies if r.text or r.buttons]
        if not visible:
            log.warning("Rasa sent no reply; see the Rasa and action server logs")
            outgoing.append((NO_ANSWER, None))
        for reply in visible:
            pieces = split_text(reply.text or "Choose one:")
            keyboard = await self.buttons.keyboard(reply.buttons)
            outgoing += [(piece, keyboard if i == len(pieces) - 1 else None)
                         for i, piece in enumerate(pieces)]
        if wants_location(replies):
            self._asked_location.add(chat_id)
            if outgoing[-1][1] is None:
                outgoing[-1] = (outgoing[-1][0], location_keyboard())
            else:
                outgoing.append((LOCATION_PROMPT, location_keyboard()))
        elif chat_id in self._asked_location:
            self._asked_location.discard(chat_id)
            _remove_location_keyboard(outgoing)
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
        await self.db.run(pending.forget_chat, sender)
        try:
            await self.rasa.erase_conversation(sender)
        except RasaUnavailable as failure:
            log.error("could not erase a conversation Rasa keeps: %s", failure)
        await self.tracker.erase(sender)


def _remove_location_keyboard(outgoing: list[tuple[str, Markup]]) -> None:
    """Put the removal on a message without inline buttons (a message carries one keyboard);
    if every one has buttons, the first text goes alone and its buttons follow."""
    for index, (text, markup) in enumerate(outgoing):
        if markup is None:
            outgoing[index] = (text, ReplyKeyboardRemove())
            return
    text, markup = outgoing[0]
    outgoing[0:1] = [(text, ReplyKeyboardRemove()), ("Choose one:", markup)]


def _what(kept: pending.Kept) -> str:
    return quoted(kept.message) if kept.typed else "that"
