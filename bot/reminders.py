"""Deadline reminders on Telegram, driven by the database.

A repeating job (every REMINDER_CHECK_SECONDS, from REMINDER_HOUR in England) asks the core
which reminders are due today (npq.reminders), claims each in the database, sends one message
per chat, and records the outcome. Nothing is scheduled in memory, so a restart loses nothing;
the claim (a unique row per subscription, cohort and stage) means a reminder goes out once,
whichever replica gets there first. A send that fails for a passing reason is released and
tried on the next pass; a chat that blocked the bot is marked failed and unsubscribed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session
from telegram import InlineKeyboardButton
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ExtBot

from bot.buttons import ButtonCodec
from bot.db import Database
from bot.rasa_client import RasaButton
from npq import reminders
from npq.answers import Button
from npq.handoffs import LONDON
from npq.network import load_network
from npq.people import unsubscribe

log = logging.getLogger(__name__)
APPLY_LINK = "registration_service"


def payload(button: Button) -> str:
    """A Rasa payload for a core button: `/intent{"entity": "value"}`."""
    return f"/{button.intent}{json.dumps(button.entities) if button.entities else ''}"


class ReminderSender:
    def __init__(self, bot: ExtBot[Any], db: Database, buttons: ButtonCodec,
                 clock: Callable[[], dt.datetime], *, days: tuple[int, ...],
                 from_hour: int) -> None:
        self.bot, self.db, self.buttons, self.clock = bot, db, buttons, clock
        self.days, self.from_hour = days, from_hour

    async def send_due(self) -> int:
        """One pass: send what is due today and not yet sent; how many messages went out."""
        now = self.clock()
        local = now.astimezone(LONDON)
        if local.hour < self.from_hour:
            return 0
        due = await self.db.run(reminders.due_on, local.date(), self.days, now)
        by_chat: dict[str, list[reminders.Due]] = {}
        for item in due:
            by_chat.setdefault(item.chat_id, []).append(item)
        apply_url = await self.db.run(_apply_url) if by_chat else None
        sent = 0
        for chat_id, items in by_chat.items():
            if chat_id.lstrip("-").isdigit():  # the terminal chat cannot be reminded
                sent += await self._send(int(chat_id), items, local.date(), apply_url)
        return sent

    async def _send(self, chat_id: int, items: list[reminders.Due], today: dt.date,
                    apply_url: str | None) -> int:
        claimed: list[tuple[reminders.Due, int]] = []
        for item in items:
            delivery = await self.db.run(reminders.claim, item, self.clock())
            if delivery is not None:
                claimed.append((item, delivery))
        if not claimed:
            return 0
        ids = [delivery for _, delivery in claimed]
        answer = reminders.reminder_answer([item for item, _ in claimed], today)
        link = [InlineKeyboardButton("Apply on the DfE service", url=apply_url)] \
            if apply_url else []
        keyboard = await self.buttons.keyboard(
            [RasaButton(b.title, payload(b)) for b in answer.buttons], *link)
        try:
            await self.bot.send_message(chat_id, answer.text, reply_markup=keyboard)
        except (Forbidden, BadRequest) as error:  # blocked, or the chat is gone
            log.warning("reminder not deliverable (%s); unsubscribing that chat",
                        type(error).__name__)
            await self.db.run(_undeliverable, ids, str(chat_id), self.clock())
            return 0
        except TelegramError as error:
            log.warning("reminder not sent (%s); will retry", type(error).__name__)
            await self.db.run(reminders.release, ids)
            return 0
        await self.db.run(reminders.finish, ids, status="sent", now=self.clock())
        return 1


def _apply_url(session: Session) -> str | None:
    return load_network(session).get(APPLY_LINK)


def _undeliverable(session: Session, ids: list[int], chat_id: str, now: dt.datetime) -> None:
    reminders.finish(session, ids, status="failed", now=now)
    unsubscribe(session, chat_id)
