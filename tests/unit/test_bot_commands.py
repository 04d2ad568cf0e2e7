"""Commands: the menu, /start for new and returning users and deep links, the journeys."""

from __future__ import annotations

from typing import Any

import pytest

from bot.app import on_startup
from bot.commands import COMMANDS, deep_link_payload
from bot.render import HELP_TEXT, WELCOME_BACK
from tests.support.bot_harness import Harness, running_bot
from tests.support.updates import DEFAULT_USER_ID, text_update

MENU = ["start", "help", "programmes", "hubs", "deadlines", "partner", "remind", "stop", "forget"]


@pytest.fixture
async def bot(database: str) -> Any:
    async with running_bot(database) as harness:
        yield harness


async def test_the_command_menu_is_registered_with_telegram(bot: Harness) -> None:
    await on_startup(bot.app)
    call = await bot.fake.wait_for("setMyCommands")
    assert [c["command"] for c in call.params["commands"]] == MENU
    assert all(c["description"] for c in call.params["commands"])
    assert [c.command for c in COMMANDS] == MENU


async def test_a_new_user_is_greeted_by_the_assistant(bot: Harness) -> None:
    bot.rasa.reply = [{"text": "Hello! I'm the NPQ assistant.",
                       "buttons": [{"title": "Find my nearest hub", "payload": "/find_hub"}]}]
    call = await bot.say("/start")
    assert call.params["text"] == "Hello! I'm the NPQ assistant."
    assert bot.rasa.received == [{"sender": str(DEFAULT_USER_ID), "message": "/greet"}]


async def test_a_returning_user_is_welcomed_back_without_starting_over(bot: Harness) -> None:
    bot.rasa.history.add(str(DEFAULT_USER_ID))
    call = await bot.say("/start", first_name="Priya")
    assert call.params["text"] == WELCOME_BACK.format(name="Priya")
    rows = [[b["text"] for b in row] for row in call.params["reply_markup"]["inline_keyboard"]]
    # regression: "Deadlines and funding" opened deadlines with nothing about funding
    assert rows == [["Which NPQ suits me?", "Nearest hub"], ["Deadlines", "Funding"],
                    ["Become a partner"]]
    payloads = [b["callback_data"] for row in call.params["reply_markup"]["inline_keyboard"]
                for b in row]
    assert "/ask_funding" in payloads[3] and "/ask_deadlines" in payloads[2]
    assert bot.rasa.received == []  # the conversation Rasa keeps carries on


@pytest.mark.parametrize(("link", "payload"), [
    ("partner", "/become_partner"),
    ("hubs", "/find_hub"),
    ("deadlines-NPQH", '/ask_deadlines{"npq": "NPQH"}'),
    ("remind-npqsenco", '/subscribe_reminders{"npq": "NPQSENCO"}'),
])
async def test_a_deep_link_opens_its_journey(bot: Harness, link: str, payload: str) -> None:
    bot.rasa.history.add(str(DEFAULT_USER_ID))  # even for someone returning
    await bot.say(f"/start {link}")
    assert bot.rasa.received == [{"sender": str(DEFAULT_USER_ID), "message": payload}]


@pytest.mark.parametrize(("link", "payload"), [
    (None, None), ("", None), ("group", None), ("nonsense-NPQH", None),
    ("partner-<b>", "/become_partner"),  # a code that isn't one is dropped
])
def test_unknown_deep_links_are_a_plain_start(link: str | None, payload: str | None) -> None:
    assert deep_link_payload(link) == payload


@pytest.mark.parametrize(("command", "payload"), [
    ("/programmes", "/programme_info"),
    ("/programmes npqh", '/programme_info{"npq": "NPQH"}'),
    ("/hubs", "/find_hub"),
    ("/hubs Leeds  LS1", '/find_hub{"location": "Leeds LS1"}'),
    ("/hubs Leeds\"}, {\"x", '/find_hub{"location": "Leeds\\"}, {\\"x"}'),
    ("/deadlines", "/ask_deadlines"),
    ("/partner", "/become_partner"),
    ("/remind NPQH", '/subscribe_reminders{"npq": "NPQH"}'),
    ("/stop", "/unsubscribe"),
    ("/forget", "/forget_me"),
])
async def test_each_command_sends_a_payload_built_by_the_bot(bot: Harness, command: str,
                                                             payload: str) -> None:
    await bot.say(command)
    assert bot.rasa.received == [{"sender": str(DEFAULT_USER_ID), "message": payload}]


async def test_help_is_answered_locally_and_lists_the_commands(bot: Harness) -> None:
    call = await bot.say("/help")
    assert call.params["text"] == HELP_TEXT
    assert all(f"/{command}" in HELP_TEXT for command in MENU if command != "help")
    assert bot.rasa.received == []


async def test_done_without_a_chat_with_the_team_says_so(bot: Harness) -> None:
    call = await bot.say("/done")
    assert call.params["text"].startswith("You're not chatting with anyone from our team")


async def test_commands_in_a_group_point_to_a_private_chat(bot: Harness) -> None:
    bot.fake.push_update(text_update("/hubs Leeds", chat_id=-1001, chat_type="group"))
    call = await bot.fake.wait_for("sendMessage")
    assert call.params["chat_id"] == -1001 and "private chat" in call.params["text"]
    assert bot.rasa.received == []
