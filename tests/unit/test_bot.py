"""The Telegram front end through the real PTB HTTP path (stand-in Bot API on 127.0.0.1), with
Rasa faked at the HTTP transport: text, buttons, locations, long replies, what is not text."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot import conversation
from bot.render import (
    CHANNEL,
    EDITED,
    EXPIRED_BUTTON,
    GROUP,
    LOCATION_PROMPT,
    NO_ANSWER,
    NOT_TEXT,
    SHARE_LOCATION,
    UNKNOWN_COMMAND,
)
from npq.db.models import ButtonPayload, PendingMessage
from tests.support.bot_harness import FakeRasa, Harness, running_bot
from tests.support.updates import (
    DEFAULT_GROUP_ID,
    DEFAULT_USER_ID,
    callback_update,
    channel_post_update,
    document_update,
    edited_text_update,
    group_text_update,
    location_update,
    photo_update,
    sticker_update,
    text_update,
    voice_update,
)

ASK_PLACE = [{"text": "Where are you? A town, city or postcode will do."},
             {"custom": {"ask_location": True}}]


@pytest.fixture
async def bot(database: str) -> Any:
    async with running_bot(database) as harness:
        yield harness


async def test_text_is_forwarded_to_rasa_and_buttons_become_an_inline_keyboard(
        bot: Harness) -> None:
    call = await bot.say("Is there a hub near Keighley?")
    assert bot.rasa.received == [
        {"sender": str(DEFAULT_USER_ID), "message": "Is there a hub near Keighley?"}]
    assert call.params["chat_id"] == DEFAULT_USER_ID
    assert call.params["text"] == "The nearest hubs to Keighley: ..."
    assert "parse_mode" not in call.params  # Rasa's text is never read as markup
    keyboard = call.params["reply_markup"]["inline_keyboard"]
    assert [[b["text"] for b in row] for row in keyboard] == [["About NPQH"]]
    assert len(keyboard[0][0]["callback_data"].encode()) <= 64
    # answered within TYPING_AFTER: no "typing…" flash (a Telegram call per message saved)
    assert not [c for c in bot.fake.calls if c.method == "sendChatAction"]


async def test_a_slow_answer_shows_typing_until_it_comes(database: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conversation, "TYPING_AFTER", 0.01)
    monkeypatch.setattr(conversation, "TYPING_EVERY", 0.01)
    gate = asyncio.Event()
    async with running_bot(database, rasa=FakeRasa(gate=gate)) as harness:
        mark = harness.mark()
        harness.fake.push_update(text_update("Is there a hub near Keighley?"))
        try:
            first = await harness.fake.wait_for("sendChatAction", after=mark, timeout=10)
            again = await harness.fake.wait_for("sendChatAction", after=harness.index(first) + 1,
                                                timeout=10)
        finally:
            gate.set()
        assert (first.params["action"], again.params["action"]) == ("typing", "typing")
        answer = await harness.fake.wait_for("sendMessage", after=mark)
        assert answer.params["text"] == "The nearest hubs to Keighley: ..."
        assert harness.index(answer) > harness.index(again)


async def test_programme_codes_come_three_to_a_row_and_phrases_two(bot: Harness) -> None:
    """Regression: a list of 11 programmes was a column of 11 buttons."""
    codes = ["NPQLBC", "NPQLL", "NPQLPM", "NPQLT", "NPQLTD", "NPQEL", "NPQEYL", "NPQH",
             "NPQSENCO", "NPQSL", "EHCO"]
    bot.rasa.reply = [{"text": "There are 10 NPQs.", "buttons": [
        {"title": code, "payload": f'/programme_info{{"npq": "{code}"}}'} for code in codes]
        + [{"title": "Talk to a person", "payload": "/talk_to_human"},
           {"title": "Which NPQ suits me?", "payload": "/recommend_npq"}]}]
    call = await bot.say("what NPQs are there?")
    rows = [[b["text"] for b in row] for row in call.params["reply_markup"]["inline_keyboard"]]
    assert rows == [codes[0:3], codes[3:6], codes[6:9], codes[9:11],
                    ["Talk to a person", "Which NPQ suits me?"]]


async def test_pressing_a_button_acknowledges_it_shows_the_choice_and_sends_its_payload(
        bot: Harness) -> None:
    sent = await bot.say("hub near keighley")
    markup = sent.params["reply_markup"]
    data = markup["inline_keyboard"][0][0]["callback_data"]
    mark = bot.mark()
    bot.rasa.reply = [{"text": "NPQH: the headship one."}]
    bot.fake.push_update(callback_update(data, message_text="The nearest hubs to <Keighley>",
                                         reply_markup=markup))
    await bot.fake.wait_for("answerCallbackQuery", after=mark)
    edit = await bot.fake.wait_for("editMessageText", after=mark)
    assert edit.params["text"] == "The nearest hubs to &lt;Keighley&gt;\n\n» <i>About NPQH</i>"
    assert edit.params["parse_mode"] == "HTML" and "reply_markup" not in edit.params
    answer = await bot.fake.wait_for("sendMessage", after=mark)
    assert answer.params["text"] == "NPQH: the headship one."
    assert bot.rasa.received[-1]["message"] == '/programme_info{"npq":"NPQH"}'


async def test_buttons_keep_working_after_a_restart(database: str) -> None:
    async with running_bot(database) as first:
        data = (await first.say("hub near keighley")).params["reply_markup"][
            "inline_keyboard"][0][0]["callback_data"]
    async with running_bot(database) as second:  # a new process: nothing kept in memory
        mark = second.mark()
        second.fake.push_update(callback_update(data))
        await second.fake.wait_for("sendMessage", after=mark)
        assert second.rasa.received == [{"sender": str(DEFAULT_USER_ID),
                                         "message": '/programme_info{"npq":"NPQH"}'}]


async def test_a_payload_too_long_for_telegram_is_kept_in_the_database(bot: Harness) -> None:
    long_payload = '/find_hub{"location": "Newcastle upon Tyne, near the Quayside and Gateshead"}'
    bot.rasa.reply = [{"text": "Which one?", "buttons": [{"title": "Newcastle",
                                                          "payload": long_payload}]}]
    markup = (await bot.say("hubs")).params["reply_markup"]
    data = markup["inline_keyboard"][0][0]["callback_data"]
    assert len(data.encode()) <= 64
    mark = bot.mark()
    bot.fake.push_update(callback_update(data, reply_markup=markup))
    await bot.fake.wait_for("sendMessage", after=mark)
    assert bot.rasa.received[-1]["message"] == long_payload
    with bot.session() as session:
        assert session.scalar(select(func.count()).select_from(ButtonPayload)) == 1


@pytest.mark.parametrize("data", ['/greet{"evil": 1}', "ABCDEFGHp/greet", "x" * 64])
async def test_a_forged_or_expired_button_is_not_forwarded(bot: Harness, data: str) -> None:
    bot.fake.push_update(callback_update(data))
    call = await bot.fake.wait_for("sendMessage")
    assert call.params["text"] == EXPIRED_BUTTON
    assert bot.rasa.received == []


@pytest.mark.parametrize("typed", [
    '/find_hub{"location": "Keighley"}', "/greet", "  /out_of_scope", "/nonsense",
])
async def test_slash_text_never_reaches_rasa(bot: Harness, typed: str) -> None:
    call = await bot.say(typed)
    assert call.params["text"] == UNKNOWN_COMMAND
    assert bot.rasa.received == []


async def test_asked_where_the_user_can_share_a_location_and_the_keyboard_goes_away(
        bot: Harness) -> None:
    bot.rasa.reply = ASK_PLACE
    ask = await bot.say("where's my nearest hub?")
    assert ask.params["text"] == "Where are you? A town, city or postcode will do."
    keyboard = ask.params["reply_markup"]
    assert keyboard["keyboard"] == [[{"text": SHARE_LOCATION, "request_location": True}]]
    assert keyboard["one_time_keyboard"] is True
    bot.rasa.reply = [{"text": "The nearest hubs to you: 1. Keighley NPQ Hub"}]
    mark = bot.mark()
    bot.fake.push_update(location_update(53.867912, -1.906641))
    answer = await bot.fake.wait_for("sendMessage", after=mark)
    assert answer.params["reply_markup"] == {"remove_keyboard": True}
    message = bot.rasa.received[-1]["message"]
    assert message.startswith("/find_hub{")
    assert json.loads(message.removeprefix("/find_hub")) == {"latitude": 53.86791,
                                                             "longitude": -1.90664}


async def test_location_keyboard_beside_inline_buttons_and_removed_when_typed_instead(
        bot: Harness) -> None:
    bot.rasa.reply = [{"text": "Which area?", "buttons": [{"title": "Leeds",
                                                           "payload": "/inform"}]},
                      {"custom": {"ask_location": True}}]
    mark = bot.mark()
    bot.fake.push_update(text_update("partner"))
    await bot.fake.wait_for("sendMessage", lambda p: p["text"] == LOCATION_PROMPT, after=mark)
    question, prompt = bot.sent(mark)
    assert "inline_keyboard" in question["reply_markup"]
    assert prompt["reply_markup"]["keyboard"][0][0]["request_location"] is True
    bot.rasa.reply = HUB_WITH_BUTTONS = [{"text": "Bradford hubs", "buttons": [
        {"title": "About NPQH", "payload": "/programme_info"}]}]
    mark = bot.mark()
    bot.fake.push_update(text_update("Bradford"))
    await bot.fake.wait_for("sendMessage", lambda p: p["text"] == "Choose one:", after=mark)
    removal, buttons = bot.sent(mark)  # one keyboard per message: text first, buttons next
    assert removal == {**removal, "text": HUB_WITH_BUTTONS[0]["text"],
                       "reply_markup": {"remove_keyboard": True}}
    assert buttons["reply_markup"]["inline_keyboard"][0][0]["text"] == "About NPQH"


async def test_a_long_reply_is_split_at_paragraphs_with_buttons_under_the_last_piece(
        bot: Harness) -> None:
    paragraphs = [f"Hub {n}: " + " ".join(["details"] * 110) for n in range(1, 11)]  # ~890 chars
    bot.rasa.reply = [{"text": "\n\n".join(paragraphs),
                       "buttons": [{"title": "More", "payload": "/find_hub"}]}]
    mark = bot.mark()
    bot.fake.push_update(text_update("all hubs please"))
    await bot.fake.wait_for("sendMessage", lambda p: "reply_markup" in p, after=mark)
    pieces = bot.sent(mark)
    assert len(pieces) == 3
    assert all(len(p["text"]) <= 4096 for p in pieces)
    assert [p["text"].split(":")[0] for p in pieces] == ["Hub 1", "Hub 5", "Hub 9"]
    assert "\n\n".join(p["text"] for p in pieces) == "\n\n".join(paragraphs)
    assert ["reply_markup" in p for p in pieces] == [False, False, True]


@pytest.mark.parametrize(("update", "opening"), [
    (sticker_update, "Thanks for the sticker! "), (photo_update, "I can't look at photos. "),
    (voice_update, "I can't listen to voice messages. "), (document_update, "I can't open files. "),
])
async def test_non_text_gets_a_friendly_explanation(bot: Harness, update: Any,
                                                    opening: str) -> None:
    bot.fake.push_update(update())
    call = await bot.fake.wait_for("sendMessage")
    assert call.params["text"] == opening + NOT_TEXT
    assert bot.rasa.received == []


async def test_an_edit_asks_for_a_new_message(bot: Harness) -> None:
    bot.fake.push_update(edited_text_update("hub near Leeds", message_id=99))
    call = await bot.fake.wait_for("sendMessage")
    assert call.params["text"] == EDITED
    assert bot.rasa.received == []


async def test_groups_are_pointed_to_a_private_chat_only_when_addressed(bot: Harness) -> None:
    await bot.handled(bot.fake.push_update(group_text_update("anyone know the NPQH deadline?")))
    assert bot.sent() == []
    bot.fake.push_update(group_text_update("@npq_assistant_bot which NPQ suits me?"))
    call = await bot.fake.wait_for("sendMessage")
    assert call.params["chat_id"] == DEFAULT_GROUP_ID and call.params["text"] == GROUP
    [[link]] = call.params["reply_markup"]["inline_keyboard"]
    assert link["url"] == "https://t.me/npq_assistant_bot?start=group"
    mark = bot.mark()
    bot.fake.push_update(group_text_update("/start@npq_assistant_bot"))
    await bot.fake.wait_for("sendMessage", after=mark)
    assert len(bot.sent()) == 2 and bot.rasa.received == []


async def test_a_channel_hears_once_where_the_assistant_helps(bot: Harness) -> None:
    bot.fake.push_update(channel_post_update("Applications open today!"))
    await bot.handled(bot.fake.push_update(channel_post_update("Reminder: applications open")))
    assert [p["text"] for p in bot.sent()] == [
        CHANNEL.format(link="https://t.me/npq_assistant_bot")]


async def test_an_empty_reply_from_rasa_still_gets_an_answer(bot: Harness) -> None:
    bot.rasa.reply = []  # what Rasa sends when a custom action failed (action server healthy)
    call = await bot.say("hub near leeds")
    assert call.params["text"] == NO_ANSWER
    with bot.session() as session:
        assert session.scalar(select(func.count()).select_from(PendingMessage)) == 0


async def test_forgetting_erases_the_conversation_rasa_keeps(bot: Harness) -> None:
    tracker = Path(bot.database_url.removeprefix("sqlite:///")).with_name("rasa-tracker.db")
    with sqlite3.connect(tracker) as db:  # Rasa's SQL tracker store only ever appends
        db.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255), "
                   "type_name VARCHAR(255), data TEXT)")
        db.executemany("INSERT INTO events (sender_id, type_name, data) VALUES (?, ?, ?)",
                       [(str(DEFAULT_USER_ID), "user", "my email is sam@school.org"),
                        ("someone-else", "user", "hello")])
    with bot.session() as session:  # kept earlier, being answered by another replica
        session.add(PendingMessage(chat_id=str(DEFAULT_USER_ID), message="old", typed=True,
                                   claimed_until=bot.clock() + dt.timedelta(minutes=1)))
    bot.rasa.reply = [{"text": "Done: I've deleted everything I held about you."},
                      {"custom": {"erase_conversation": True}}]
    bot.fake.push_update(text_update("yes"))
    call = await bot.fake.wait_for("sendMessage", lambda p: p["text"].startswith("Done"))
    assert call.params["text"] == "Done: I've deleted everything I held about you."
    await bot.chat_idle()
    events = f"/conversations/{DEFAULT_USER_ID}/tracker/events"
    assert bot.rasa.replaced == [(events, []), (events, [{"event": "restart"}])]
    with sqlite3.connect(tracker) as db:
        assert db.execute("SELECT sender_id FROM events").fetchall() == [("someone-else",)]
    with bot.session() as session:
        assert session.scalar(select(func.count()).select_from(PendingMessage)) == 0
