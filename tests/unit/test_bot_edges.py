"""The staff group and odd updates, through the real PTB HTTP path (stand-in Bot API on
127.0.0.1, Rasa faked at the transport): only staff answer and close requests, edits never run
commands, a live location is one location, a forged button with non-ASCII data has expired, and
a message near Telegram's 4,096-character limit neither breaks /review nor the relay to staff
(nor falls through to the assistant when the relay fails)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.handlers import ONLY_STAFF_CLOSE
from bot.handoff import NOT_RELAYED, NOT_STAFF
from bot.render import EDITED, EXPIRED_BUTTON
from npq.db.models import MessageLog
from tests.support.bot_harness import Harness, running_bot
from tests.support.updates import (
    DEFAULT_USER_ID,
    callback_update,
    edited_text_update,
    group_text_update,
    location_update,
    text_update,
)
from tests.unit.test_bot_handoff import ALEX, STAFF, ask_for_a_person, assistant, requests

JSON = dict[str, Any]
STRANGER = 999  # in the staff group, not in STAFF_USER_IDS
LONG = ("Tom & Jerry <3 " * 300)[:4090]  # escaping makes it longer than Telegram allows


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# --- the staff group ---------------------------------------------------------------------------

async def test_only_staff_user_ids_answer_a_request(database: str) -> None:
    async with running_bot(database, rasa=assistant(database), staff_chat_id=STAFF,
                           staff_user_ids=frozenset({ALEX})) as bot:
        posted = await ask_for_a_person(bot)
        mark = bot.mark()
        bot.fake.push_update(group_text_update("I'll take this one", chat_id=STAFF,
                                               user_id=STRANGER, first_name="Eve",
                                               reply_to=posted))
        refused = await bot.fake.wait_for("sendMessage", after=mark)
        assert (refused.params["chat_id"], refused.params["text"]) == (STAFF, NOT_STAFF)
        assert bot.sent(mark, DEFAULT_USER_ID) == []
        mark = bot.mark()
        bot.fake.push_update(group_text_update("/done", chat_id=STAFF, user_id=STRANGER,
                                               first_name="Eve", reply_to=posted))
        await bot.fake.wait_for("sendMessage", after=mark)
        assert bot.sent(mark, DEFAULT_USER_ID) == []
        assert requests(bot) == [("forwarded", None)]

        mark = bot.mark()  # staff still can
        bot.fake.push_update(group_text_update("Hi Sam", chat_id=STAFF, user_id=ALEX,
                                               first_name="Alex", reply_to=posted))
        await bot.fake.wait_for("sendMessage", lambda p: "💬" in p["text"], after=mark)
        assert requests(bot) == [("active", ALEX)]


async def test_only_staff_user_ids_close_a_request_with_its_button(database: str) -> None:
    async with running_bot(database, rasa=assistant(database), staff_chat_id=STAFF,
                           staff_user_ids=frozenset({ALEX})) as bot:
        posted = await ask_for_a_person(bot)
        data = posted["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        mark = bot.mark()
        bot.fake.push_update(callback_update(data, chat_id=STAFF, user_id=STRANGER,
                                             first_name="Eve", message_id=posted["message_id"],
                                             message_text=posted["text"],
                                             reply_markup=posted["reply_markup"]))
        answered = await bot.fake.wait_for("answerCallbackQuery", after=mark)
        assert answered.params["text"] == ONLY_STAFF_CLOSE
        assert bot.sent(mark) == []
        assert requests(bot) == [("forwarded", None)]


# --- edits and live locations ------------------------------------------------------------------

async def test_an_old_message_edited_into_a_command_does_not_run_it(database: str) -> None:
    async with running_bot(database) as bot:
        for command in ("/forget", "/start", "/help", "/stop"):
            mark = bot.mark()
            bot.fake.push_update(edited_text_update(command, message_id=5))
            call = await bot.fake.wait_for("sendMessage", after=mark)
            assert call.params["text"] == EDITED
        assert bot.rasa.received == []


async def test_a_live_location_is_answered_once(database: str) -> None:
    async with running_bot(database) as bot:
        first = location_update(53.8679, -1.9066, message_id=70)
        first["message"]["location"]["live_period"] = 900
        bot.fake.push_update(first)
        answer = await bot.fake.wait_for("sendMessage")
        assert answer.params["text"] == "The nearest hubs to Keighley: ..."
        await bot.chat_idle()
        mark = bot.mark()
        for step in range(1, 4):  # Telegram edits the message as the person moves
            moved = location_update(53.8679 + step / 1000, -1.9066, message_id=70)
            moved["edited_message"] = moved.pop("message")
            moved["edited_message"]["location"]["live_period"] = 900
            moved["edited_message"]["edit_date"] = moved["edited_message"]["date"]
            await bot.handled(bot.fake.push_update(moved))
        assert bot.sent(mark) == []
        assert len(bot.rasa.received) == 1


# --- forged buttons ----------------------------------------------------------------------------

async def test_a_forged_button_with_non_ascii_data_has_expired(database: str) -> None:
    async with running_bot(database) as bot:
        for data in ("ÄÖÜßéèp/greet", "😀😀😀😀p/forget_me", "абвгдежзp/affirm"):
            mark = bot.mark()
            bot.fake.push_update(callback_update(data))
            call = await bot.fake.wait_for("sendMessage", after=mark)
            assert call.params["text"] == EXPIRED_BUTTON
        assert bot.rasa.received == []


# --- near 4,096 characters ---------------------------------------------------------------------

async def test_a_long_message_is_relayed_to_staff_in_pieces(database: str) -> None:
    async with running_bot(database, rasa=assistant(database), staff_chat_id=STAFF,
                           staff_user_ids=frozenset({ALEX})) as bot:
        posted = await ask_for_a_person(bot)
        mark = bot.mark()
        bot.fake.push_update(group_text_update("Go ahead", chat_id=STAFF, user_id=ALEX,
                                               first_name="Alex", reply_to=posted))
        await bot.fake.wait_for("sendMessage", lambda p: "💬" in p["text"], after=mark)
        asked = len(bot.rasa.received)

        mark = bot.mark()
        bot.fake.push_update(text_update(LONG))
        await bot.fake.wait_for("sendMessage", lambda p: "continued" in p["text"], after=mark)
        await bot.chat_idle()
        pieces = [p["text"] for p in bot.sent(mark, STAFF)]
        assert len(pieces) >= 2 and all(utf16(p) <= 4096 for p in pieces)
        assert all(c.ok for c in bot.fake.calls[mark:] if c.method == "sendMessage")
        said = "".join(p.split(":\n", 1)[1] for p in pieces)
        assert said.replace("&amp;", "&").replace("&lt;", "<").replace(" ", "") == \
            LONG.replace(" ", "")
        assert len(bot.rasa.received) == asked

        mark = bot.mark()  # and the staff member's long answer reaches the user
        bot.fake.push_update(group_text_update(LONG, chat_id=STAFF, user_id=ALEX,
                                               first_name="Alex", reply_to=posted))
        await bot.fake.wait_for("sendMessage", lambda p: "continued" in p["text"], after=mark)
        await bot.chat_idle(STAFF)
        to_user = bot.sent(mark, DEFAULT_USER_ID)
        assert len(to_user) >= 2 and all(utf16(p["text"]) <= 4096 for p in to_user)
        assert "reply_markup" in to_user[-1] and "reply_markup" not in to_user[0]


async def test_when_relaying_to_staff_fails_the_user_is_told_and_rasa_never_asked(
        database: str) -> None:
    async with running_bot(database, rasa=assistant(database), staff_chat_id=STAFF,
                           staff_user_ids=frozenset({ALEX})) as bot:
        posted = await ask_for_a_person(bot)
        mark = bot.mark()
        bot.fake.push_update(group_text_update("Go ahead", chat_id=STAFF, user_id=ALEX,
                                               first_name="Alex", reply_to=posted))
        await bot.fake.wait_for("sendMessage", lambda p: "💬" in p["text"], after=mark)
        asked = len(bot.rasa.received)
        bot.fake.fail_next("sendMessage", error_code=400, description="Bad Request: chat not "
                           "found", when=lambda p: p["chat_id"] == STAFF)
        mark = bot.mark()
        bot.fake.push_update(text_update("are you still there?"))
        told = await bot.fake.wait_for("sendMessage", lambda p: p["chat_id"] == DEFAULT_USER_ID,
                                       after=mark)
        assert told.params["text"] == NOT_RELAYED.format(staff="Alex")
        await bot.chat_idle()
        assert len(bot.rasa.received) == asked


def queue_long_messages(bot: Harness) -> None:
    """One chat sent the same 4,096-character message 30 times; two others asked something
    short the model was unsure about."""
    now = dt.datetime(2027, 2, 8, 9, 0, tzinfo=dt.timezone.utc)
    with bot.session() as session:
        for n in range(30):
            session.add(MessageLog(chat_id="666", text="🙂" + "x" * 4094, intent="nlu_fallback",
                                   confidence=0.1, entities=[], needs_review=True,
                                   created_at=now + dt.timedelta(seconds=n)))
        for chat in ("700", "701"):
            session.add(MessageLog(chat_id=chat, text="parking at the hub?",
                                   intent="nlu_fallback", confidence=0.2, entities=[],
                                   needs_review=True, created_at=now))


async def test_review_shows_a_long_message_shortened_after_what_more_people_sent(
        database: str) -> None:
    staff = 31337
    async with running_bot(database, staff_user_ids=frozenset({staff})) as bot:
        queue_long_messages(bot)
        mark = bot.mark()
        bot.fake.push_update(text_update("/review", user_id=staff, first_name="Jo"))
        first = await bot.fake.wait_for("sendMessage", after=mark)
        assert first.ok and "“parking at the hub?”" in first.params["text"]
        label = next(b["callback_data"] for row in first.params["reply_markup"]["inline_keyboard"]
                     for b in row if b["text"] == "Skip")
        mark = bot.mark()
        bot.fake.push_update(callback_update(label, chat_id=staff, user_id=staff,
                                             first_name="Jo", message_text=first.params["text"],
                                             reply_markup=first.params["reply_markup"]))
        second = await bot.fake.wait_for("sendMessage", after=mark)
        assert second.ok, second.params["text"][:100]
        assert utf16(second.params["text"]) <= 4096
        assert "(sent 30 times)" in second.params["text"] and "…”" in second.params["text"]
