"""One turn with the assistant: ask Rasa (typing shown, an apology if it is slow), log what the
model made of a typed message (bot/turns.py), send the replies (with thumbs up/down under an
answer to a question, the location keyboard when asked where: bot/location_keyboard.py), and
keep the message for later when Rasa or the action server cannot answer (bot/pending.py), or in
a local file when the database cannot either (bot/spool.py). Replies go through the outbox
(bot/outbox.py): delivered once, whatever Telegram answers first.

Handlers call `turn` while the update processor holds the chat's lock; the retry job takes the
same lock before answering kept messages, so a chat's answers stay in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from telegram import InlineKeyboardMarkup
from telegram.constants import ChatAction
from telegram.error import TelegramError
from telegram.ext import ExtBot

from bot.acknowledge import Acknowledger, Expected
from bot.buttons import ButtonCodec
from bot.claims import new_token
from bot.erasure import Eraser
from bot.feedback import PROMPT, thumbs, with_thumbs
from bot.handoff import Handoff
from bot.location_keyboard import LocationKeyboard, Outgoing
from bot.outbox import Outbox
from bot.outbox import forget_chat as forget_waiting
from bot.pending import KeptMessages, actions_down
from bot.rasa_client import RasaClient, RasaReply, RasaUnavailable, wants_erasure
from bot.render import DB_DOWN, NO_ANSWER, STILL_WORKING, UNAVAILABLE, sender_id, split_text
from bot.spool import Spool
from bot.tracker import TrackerStore, TrackerUnavailable
from bot.turns import Recorded, TurnRecorder

log = logging.getLogger(__name__)
TYPING_EVERY = 4.5  # Telegram shows "typing…" for about 5 seconds
# ... shown only when the answer takes longer than this: most take a tenth of a second, and a
# "typing…" flash costs a Telegram call per message (under load, as many calls as answers).
TYPING_AFTER = 1.0
# Rasa rebuilds a conversation's tracker from its session's events on every turn (and sends
# them all to the action server), so turns slow down as a session grows: after this many
# events (about 25 turns) the next session starts, slots carried over, between two forms.
SESSION_EVENTS = 150


class Conversation:
    def __init__(self, bot: ExtBot[Any], rasa: RasaClient, buttons: ButtonCodec,
                 handoff: Handoff, kept: KeptMessages, *, eraser: Eraser,
                 tracker: TrackerStore, recorder: TurnRecorder, patience: float,
                 outbox: Outbox, spool: Spool,
                 acknowledger: Acknowledger | None = None) -> None:
        self.bot, self.rasa, self.buttons, self.eraser = bot, rasa, buttons, eraser
        self.tracker = tracker
        self.recorder, self.handoff, self.kept, self.patience = recorder, handoff, kept, patience
        self.outbox, self.spool, self.acknowledger = outbox, spool, acknowledger
        self.location_keyboard = LocationKeyboard()

    async def say(self, chat_id: int, text: str) -> None:
        """One message outside a turn (how "forget me" went), delivered by the outbox."""
        await self.outbox.send(chat_id, [(text, None)])

    async def turn(self, chat_id: int, message: str, *, typed: bool,
                   name: str | None = None) -> None:
        """A user's message (typed text, or a payload we built): answer it, or keep it.
        `name` (the user's first name) labels a request to talk to a person."""
        key = new_token()  # goes to Rasa with the message: a retry finds a turn Rasa finished
        if self.spool.has(chat_id) and not await self.spool.drain():
            await self._spool(chat_id, message, typed=typed, key=key)  # after the ones there
            return
        try:
            waiting = await self.kept.waiting(chat_id)
        except SQLAlchemyError as error:
            log.error("database unreachable (%s)", type(error).__name__)
            await self._spool(chat_id, message, typed=typed, key=key)
            return
        if waiting:  # answer in order: older ones first
            fresh = await self.kept.keep(chat_id, message, typed=typed, key=key)
            await self.kept.answer_in_order(chat_id, self, fresh=fresh)
            return
        try:
            replies = await self.ask(chat_id, message, typed=typed, patient=True, key=key)
        except RasaUnavailable as failure:
            log.warning("Rasa unavailable, message kept: %s", failure)
            await self.kept.keep(chat_id, message, typed=typed, key=key)
            await self.outbox.say(chat_id, UNAVAILABLE)
            return
        if not replies and await actions_down(self.rasa):
            log.warning("empty answer while the action server is down: message kept")
            await self.kept.keep(chat_id, message, typed=typed, key=key)
            await self.outbox.say(chat_id, UNAVAILABLE)
            return
        recorded = await self._record(chat_id, message, replies, typed=typed)
        await self.deliver(chat_id, replies, name=name, rate=recorded.rate if recorded else None)
        await self.keep_session_short(chat_id, recorded.state if recorded else None)

    async def _spool(self, chat_id: int, message: str, *, typed: bool, key: str) -> None:
        """The database is down: keep the message in the local file, tell the sender once."""
        if self.spool.add(chat_id, message, typed=typed, key=key):
            with contextlib.suppress(TelegramError):
                await self.bot.send_message(chat_id, DB_DOWN)

    async def reply(self, chat_id: int, message: str, replies: list[RasaReply], *,
                    typed: bool, preface: str | None = None,
                    settle: Callable[[Session], None] | None = None) -> None:
        """Log a kept message now answered, and send its answer (bot.pending's KeptMessages):
        `preface` first, `settle` in the transaction that queues the answer."""
        recorded = await self._record(chat_id, message, replies, typed=typed)
        await self.deliver(chat_id, replies, preface=preface, settle=settle,
                           rate=recorded.rate if recorded else None)

    async def ask(self, chat_id: int, message: str, *, typed: bool, patient: bool,
                  key: str | None = None) -> list[RasaReply]:
        """Rasa's replies to a message; `patient`: say the answer is coming when a queue is
        expected (bot/acknowledge.py), else apologise if it takes long. `key` goes with it
        (RasaClient.finished_turn)."""
        sender = sender_id(chat_id)
        expected = Expected()
        if patient and self.acknowledger is not None:
            expected = await self.acknowledger.before_turn(chat_id)
        queued = expected.seconds
        asking = asyncio.ensure_future(
            self.rasa.send_text(sender, message, key=key, queued=queued) if typed
            else self.rasa.send_payload(sender, message, key=key, queued=queued))
        # told the answer is coming, or a queue expected (a rush): no "typing…" (every waiting
        # chat's typing would compete with the answers for the bot's 30 Telegram calls a second)
        rush = expected.told or expected.seconds >= TYPING_AFTER
        typing = contextlib.nullcontext() if rush else self._typing(chat_id)
        try:
            async with typing:
                if patient and not expected.told:
                    done, _ = await asyncio.wait({asking}, timeout=self.patience)
                    if not done and not self._told(chat_id):  # not told meanwhile either
                        await self.bot.send_message(chat_id, STILL_WORKING)
                return await asking
        finally:
            asking.cancel()

    def _told(self, chat_id: int) -> bool:
        return self.acknowledger is not None and self.acknowledger.knows(chat_id)

    async def _record(self, chat_id: int, message: str, replies: list[RasaReply], *,
                      typed: bool) -> Recorded | None:
        """Log a typed message (with the message_log id when its answer should offer thumbs,
        and the tracker state the log read)."""
        if not typed:
            return None
        return await self.recorder.record(sender_id(chat_id), message, replies)

    @contextlib.asynccontextmanager
    async def _typing(self, chat_id: int) -> AsyncIterator[None]:
        async def typing() -> None:
            with contextlib.suppress(TelegramError):
                await self.bot.send_chat_action(chat_id, ChatAction.TYPING)

        async def keep_typing() -> None:
            await asyncio.sleep(TYPING_AFTER)
            while not self._told(chat_id):  # once told the answer is coming, that says it
                await typing()
                await asyncio.sleep(TYPING_EVERY)

        task = asyncio.ensure_future(keep_typing())
        try:
            yield
        finally:
            task.cancel()

    async def deliver(self, chat_id: int, replies: list[RasaReply], *,
                      name: str | None = None, rate: int | None = None,
                      preface: str | None = None,
                      settle: Callable[[Session], None] | None = None) -> None:
        """Send Rasa's replies through the outbox: long texts split, buttons under the last
        piece, the location keyboard offered when asked for and removed on the next answer;
        with `rate` (the message_log id of the question) thumbs up/down under the last piece;
        `preface` before them all."""
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
        if preface is not None:
            outgoing.insert(0, (preface, None))
        if wants_erasure(replies):  # what still waits to be sent to them goes; this reply stays
            settle = _forgetting(sender_id(chat_id), settle)
        await self.outbox.send(chat_id, outgoing, settle=settle)
        if wants_erasure(replies):  # forget me: the rest, and the person told how it went
            await self.eraser.finish(chat_id, self.say)
        await self.handoff.after_turn(chat_id, name)

    async def keep_session_short(self, chat_id: int,
                                 state: dict[str, Any] | None = None) -> None:
        """Start a new Rasa session once the current one is long and no form is asking;
        `state`: the tracker's state if this turn already read it (the turn log does)."""
        sender = sender_id(chat_id)
        if state is None:
            try:
                state = await self.tracker.turn_state(sender)
            except TrackerUnavailable:
                return
        if state["events"] < SESSION_EVENTS or state["active_loop"].get("name"):
            return
        try:
            await self.rasa.start_session(sender)
        except RasaUnavailable as failure:
            log.warning("could not start a new Rasa session: %s", failure)


def _forgetting(sender: str, settle: Callable[[Session], None] | None
                ) -> Callable[[Session], None]:
    """`settle`, then the person's messages still waiting in the outbox deleted, in the
    transaction that queues the reply saying they are forgotten."""
    def both(session: Session) -> None:
        if settle is not None:
            settle(session)
        forget_waiting(session, sender)
    return both
