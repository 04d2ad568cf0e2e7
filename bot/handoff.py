"""Talk to a person: forward requests to the staff group, relay messages both ways, end chats.

The talk_to_human action stores a HandoffRequest ("open"). After each turn (and from a job, for
requests made while the bot was away) the bot posts it to STAFF_CHAT_ID as a card with the
recent conversation, and tells the user how and when they will hear back (office hours). A
staff member answers by replying to the card: their reply reaches the user, and the user's next
messages reach the staff group (mentioning them) until either side sends /done or presses the
button. Without a staff chat the request is kept ("queued") for staff to read.

Every relay and notice goes through the outbox (bot/outbox.py): persisted, then sent in order
per chat, waiting out Telegram's 429s and outages and a restart, so none is lost. The card is
the exception: staff reply to it, so its message id must be known before the request counts as
forwarded; the request row is its record instead (a card Telegram refused is posted again by
the retry job). A relay to the staff group is linked to its request once sent, however late.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import Forbidden, TelegramError
from telegram.ext import ExtBot

from bot.buttons import CLOSE_HANDOFF, END_HANDOFF, ButtonCodec
from bot.db import Database
from bot.outbox import Item, Outbox, enqueue
from bot.render import MESSAGE_LIMIT, escape, split_text
from npq import handoffs
from npq.db.models import HandoffRequest
from npq.network import load_network

log = logging.getLogger(__name__)
CONTEXT_BUDGET = 3000  # characters of recent conversation on a card
LINE = 300
NOT_STAFF = ("Only the team members listed in STAFF_USER_IDS can answer requests: your "
             "message was not sent.")
NOT_RELAYED = ("Sorry, I couldn't pass that on to {staff} just now. Please send it again in a "
               "minute. (I haven't shown it to the assistant either.)")


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def html_pieces(text: str, room: int, limit: int | None = None) -> list[str]:
    """`text` escaped for HTML, in pieces of at most `room` UTF-16 units once escaped (escaping
    can make text up to five times longer, so a piece that grows too long is cut again)."""
    pieces = []
    for piece in split_text(text, limit or room):
        escaped = escape(piece)
        if _utf16(escaped) <= room:
            pieces.append(escaped)
        else:
            pieces += html_pieces(piece, room, max(1, (limit or room) // 2))
    return pieces


def with_headers(first: str, then: str, text: str) -> list[str]:
    """The messages that carry `text` (escaped) within Telegram's limit: `first` (HTML) heads
    the first piece, `then` the others."""
    room = MESSAGE_LIMIT - max(_utf16(first), _utf16(then))
    pieces = html_pieces(text, room) or [""]
    return [(first if i == 0 else then) + piece for i, piece in enumerate(pieces)]


@dataclass(frozen=True)
class Request:
    id: int
    chat_id: str
    status: str
    reason: str | None
    context: list[Any]
    staff_message_id: int | None
    staff_user_id: int | None
    staff_name: str | None


def _view(row: HandoffRequest | None) -> Request | None:
    return None if row is None else Request(
        row.id, row.chat_id, row.status, row.reason, list(row.context or []),
        row.staff_message_id, row.staff_user_id, row.staff_name)


def card(request: Request, name: str | None) -> str:
    """The staff group's view of a request (HTML, every person's text escaped)."""
    who = escape(name) if name else f"chat {request.chat_id}"
    lines = [f'🙋 <b>Request #{request.id}</b> from <a href="tg://user?id={request.chat_id}">'
             f"{who}</a>"]
    if request.reason:
        lines.append(f"“{escape(request.reason[:LINE])}”")
    said: list[str] = []
    budget = CONTEXT_BUDGET
    for item in reversed(request.context):
        if not isinstance(item, dict) or not item.get("text"):
            continue
        text = str(item["text"])
        line = ("👤 " if item.get("from") == "user" else "🤖 ") + escape(
            text if len(text) <= LINE else text[:LINE - 1] + "…")
        budget -= len(line)
        if budget < 0:
            break
        said.insert(0, line)
    if said:
        lines += ["", "<b>Recent conversation</b>", *said]
    lines += ["", "Reply to this message to answer them here (they see your first name). "
                  "Reply /done to end the chat."]
    return "\n".join(lines)


class Handoff:
    def __init__(self, bot: ExtBot[Any], db: Database, buttons: ButtonCodec,
                 clock: Callable[[], dt.datetime], outbox: Outbox, *, staff_chat_id: int | None,
                 office_hours: str | None, staff_user_ids: frozenset[int] = frozenset()) -> None:
        self.bot, self.db, self.buttons, self.clock = bot, db, buttons, clock
        self.outbox = outbox
        self.staff_chat_id, self.office_hours = staff_chat_id, office_hours
        self.staff_user_ids = staff_user_ids  # only they answer and close requests

    async def after_turn(self, chat_id: int | None = None, name: str | None = None) -> None:
        """Forward the requests a turn created (all waiting ones when `chat_id` is None)."""
        statuses = ("open", "queued") if self.staff_chat_id is not None else ("open",)
        waiting = await self.db.run(_waiting, None if chat_id is None else str(chat_id),
                                    statuses,
                                    self.clock() if self.staff_chat_id is not None else None)
        for request in waiting:
            await self._forward(request, name)

    async def _forward(self, request: Request, name: str | None) -> None:
        hours, contact = await self.db.run(_office, self.office_hours)
        promise = handoffs.contact_promise(hours, self.clock(), office_contact=contact,
                                           staff_chat=self.staff_chat_id is not None)
        user = int(request.chat_id)
        if self.staff_chat_id is None:
            if await self.db.run(_queue, request.id, promise, self.clock()):
                await self.outbox.flush(user)
            return
        if not await self.db.run(handoffs.start_forwarding, request.id, status=request.status,
                                 now=self.clock()):
            return  # another replica has it
        close = InlineKeyboardMarkup([[InlineKeyboardButton(
            "Close request", callback_data=self.buttons.local(CLOSE_HANDOFF, request.id))]])
        try:
            sent = await self.bot.send_message(self.staff_chat_id, card(request, name),
                                               parse_mode=ParseMode.HTML, reply_markup=close)
        except TelegramError as error:  # the retry job forwards it later
            log.error("could not post request %s to the staff chat: %s", request.id,
                      type(error).__name__)
            await self.db.run(handoffs.take, request.id, status="forwarding",
                              to="open" if request.status == "forwarding" else request.status)
            return
        await self.db.run(_forwarded, request.id, self.staff_chat_id, sent.message_id,
                          promise, self.clock())
        await self.outbox.flush(user)  # the promise, after the assistant's reply

    async def from_staff(self, message: Message) -> None:
        """A message in the staff group: a reply to one of a request's messages is relayed."""
        replied = message.reply_to_message
        staff = message.from_user
        if replied is None or staff is None or self.staff_chat_id is None:
            return
        request = await self.db.run(_by_staff_message, self.staff_chat_id, replied.message_id)
        if request is None:
            return
        if staff.id not in self.staff_user_ids:
            log.warning("request %s: a reply from someone not in STAFF_USER_IDS was not relayed",
                        request.id)
            await message.reply_text(NOT_STAFF)
            return
        if message.text and message.text.split()[0].split("@")[0] == "/done":
            await self.end(request.id, by=staff.first_name)
            return
        if request.status == "closed":
            await message.reply_text(f"Request #{request.id} has ended; they can ask again.")
            return
        first = request.status != "active" or request.staff_user_id != staff.id
        if first:
            await self.db.run(handoffs.answered_by, request.id, staff_user_id=staff.id,
                              staff_name=staff.first_name)
        user = int(request.chat_id)
        end = InlineKeyboardMarkup([[InlineKeyboardButton(
            "End chat with the team", callback_data=self.buttons.local(END_HANDOFF, request.id))]])
        items = [Item(f"You're now chatting with {staff.first_name} from our team. Your "
                      "messages go to them until one of you ends the chat (/done).")] \
            if first else []
        if message.text:
            who = f"💬 <b>{escape(staff.first_name)}</b> (NPQ team)"
            pieces = with_headers(f"{who}:\n", f"{who}, continued:\n", message.text)
            items += [Item(piece, end if i == len(pieces) - 1 else None, ParseMode.HTML)
                      for i, piece in enumerate(pieces)]
        else:
            items.append(Item("", end, copy_from=self.staff_chat_id,
                              copy_of=message.message_id))
        delivery = await self.outbox.send(user, items)
        if isinstance(delivery.refused, Forbidden):
            await message.reply_text("Not delivered: they have blocked the bot or deleted the "
                                     "chat. The request is closed.")
            await self.db.run(handoffs.close, request.id, self.clock())
        elif delivery.refused is not None:
            log.error("request %s: a staff reply was not delivered: %s", request.id,
                      type(delivery.refused).__name__)
            await message.reply_text(f"Not delivered to #{request.id}: Telegram refused it "
                                     f"({type(delivery.refused).__name__}). Please try again, "
                                     "perhaps shorter.")

    async def from_user(self, message: Message) -> bool:
        """Relay a user's message to the staff member answering them; False if nobody is. Once
        someone is, the message never goes to the assistant: if Telegram refuses it, the user
        is told to send it again."""
        if self.staff_chat_id is None:
            return False
        request = await self.db.run(_active, str(message.chat_id))
        if request is None:
            return False
        staff = f'<a href="tg://user?id={request.staff_user_id}">' \
                f"{escape(request.staff_name or 'staff')}</a>"
        name = escape(message.from_user.first_name) if message.from_user else "They"
        reply_to = request.staff_message_id
        if message.text:
            items = [Item(piece, None, ParseMode.HTML, reply_to, handoff_id=request.id)
                     for piece in with_headers(
                         f"{staff}: <b>{name}</b> (#{request.id}) wrote:\n",
                         f"{staff}: <b>{name}</b> (#{request.id}, continued):\n", message.text)]
        else:
            items = [Item("", None, reply_to=reply_to, copy_from=message.chat_id,
                          copy_of=message.message_id, handoff_id=request.id)]
        # persisted, then sent: a 429 or an outage only delays it (linked to the request once
        # sent, so staff replies to it reach this user); it never goes to the assistant
        delivery = await self.outbox.send(self.staff_chat_id, items)
        if delivery.refused is not None:  # the user is told
            log.error("request %s: a message could not be relayed to the staff chat: %s",
                      request.id, type(delivery.refused).__name__)
            await self.outbox.say(message.chat_id, NOT_RELAYED.format(
                staff=request.staff_name or "our team"))
        return True

    async def end_for_user(self, chat_id: int) -> bool:
        """The user sent /done: end their chat with the team (False if there was none)."""
        request = await self.db.run(_current, str(chat_id))
        if request is None:
            return False
        await self.end(request.id, by=None)
        return True

    async def end(self, request_id: int, *, by: str | None) -> None:
        """End a handoff (`by`: the staff member's name, None for the user) and tell both."""
        request = await self.db.run(_close, request_id, self.clock())
        if request is None:
            return
        await self.outbox.say(int(request.chat_id), "This chat with our team has ended. I'm "
                                                    "back: ask me anything, or send /help.")
        if self.staff_chat_id is not None and request.staff_message_id:
            who = f"by {escape(by)}" if by else "by the user"
            await self.outbox.send(self.staff_chat_id, [Item(
                f"✅ Request #{request.id} closed {who}.", None, ParseMode.HTML,
                request.staff_message_id, handoff_id=request.id)])
            try:
                await self.bot.edit_message_reply_markup(self.staff_chat_id,
                                                         request.staff_message_id)
            except TelegramError:  # already tidied, or too old to edit
                log.debug("could not tidy the card of request %s", request.id)


def _waiting(session: Session, chat_id: str | None, statuses: tuple[str, ...],
             now: dt.datetime | None) -> list[Request]:
    rows = handoffs.requests_to_forward(session, chat_id, statuses, now)
    return [r for r in (_view(row) for row in rows) if r is not None]


def _queue(session: Session, request_id: int, promise: str, now: dt.datetime) -> bool:
    """No staff chat: the request kept for staff, and its promise queued, in one transaction."""
    if not handoffs.take(session, request_id, status="open", to="queued"):
        return False  # another replica has it
    request = session.get_one(HandoffRequest, request_id)
    enqueue(session, request.chat_id, [Item(promise)], now)
    return True


def _forwarded(session: Session, request_id: int, staff_chat_id: int, message_id: int,
               promise: str, now: dt.datetime) -> None:
    """The card is posted: the request forwarded, and its promise queued, in one transaction."""
    handoffs.forwarded(session, request_id, staff_chat_id=staff_chat_id, message_id=message_id,
                       now=now)
    enqueue(session, session.get_one(HandoffRequest, request_id).chat_id, [Item(promise)], now)


def _office(session: Session, configured: str | None) -> tuple[handoffs.OfficeHours, str]:
    network = load_network(session)
    contact = " or ".join(p for p in (network.get("office_email"),
                                      network.get("office_phone")) if p)
    for text in (configured, network.get("office_hours"), handoffs.DEFAULT_HOURS):
        if text:
            try:
                return handoffs.parse_office_hours(text), contact
            except ValueError as error:
                log.warning("%s; using the next source of office hours", error)
    raise AssertionError("the default office hours parse")


def _by_staff_message(session: Session, staff_chat_id: int, message_id: int) -> Request | None:
    return _view(handoffs.by_staff_message(session, staff_chat_id, message_id))


def _active(session: Session, chat_id: str) -> Request | None:
    return _view(handoffs.active_for_chat(session, chat_id))


def _current(session: Session, chat_id: str) -> Request | None:
    return _view(handoffs.active_for_chat(session, chat_id)
                 or handoffs.latest_forwarded(session, chat_id))


def _close(session: Session, request_id: int, now: dt.datetime) -> Request | None:
    return _view(handoffs.close(session, request_id, now))
