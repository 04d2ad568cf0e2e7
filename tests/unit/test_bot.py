"""The Telegram front end through the real PTB HTTP path (stand-in Bot API on 127.0.0.1),
with Rasa faked at the HTTP transport."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from bot.app import build_application
from bot.rasa_client import RasaClient
from bot.render import EXPIRED_BUTTON, NO_ANSWER, NOT_TEXT, UNAVAILABLE, UNKNOWN_COMMAND
from npq.settings import Settings
from tests.support.fake_bot_api import FakeBotAPI
from tests.support.updates import (
    DEFAULT_USER_ID,
    callback_update,
    location_update,
    photo_update,
    sticker_update,
    text_update,
)

HUB_REPLY = [{"recipient_id": str(DEFAULT_USER_ID), "text": "The nearest hubs to Keighley: ...",
              "buttons": [{"title": "About NPQH", "payload": '/programme_info{"npq": "NPQH"}'}]}]


@dataclass
class FakeRasa:
    """Rasa's REST webhook at the transport seam: records what the bot sent."""

    reply: list[dict[str, Any]] = field(default_factory=lambda: HUB_REPLY)
    down: bool = False
    received: list[dict[str, Any]] = field(default_factory=list)
    replaced: list[tuple[str, Any]] = field(default_factory=list)  # PUT .../tracker/events
    erased: asyncio.Event = field(default_factory=asyncio.Event)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            self.replaced.append((request.url.path, json.loads(request.content)))
            self.erased.set()
            return httpx.Response(200, json={})
        assert request.url.path == "/webhooks/rest/webhook"
        self.received.append(json.loads(request.content))
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, json=self.reply)


@dataclass
class Harness:
    fake: FakeBotAPI
    rasa: FakeRasa

    def sent(self, after: int = 0) -> list[dict[str, Any]]:
        return [c.params for c in self.fake.calls[after:] if c.method == "sendMessage"]


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    rasa = FakeRasa()
    async with FakeBotAPI() as fake:
        settings = Settings(database_url="sqlite://", telegram_bot_token=fake.token,
                            telegram_api_base_url=fake.base_url)
        client = RasaClient("http://rasa.test", transport=httpx.MockTransport(rasa.handle))
        app = build_application(settings, rasa=client)
        async with app:
            await app.start()
            await app.updater.start_polling(poll_interval=0.0, timeout=1)
            yield Harness(fake, rasa)
            await app.updater.stop()
            await app.stop()


async def test_text_is_forwarded_to_rasa_and_buttons_become_an_inline_keyboard(
    harness: Harness,
) -> None:
    harness.fake.push_update(text_update("Is there a hub near Keighley?"))
    call = await harness.fake.wait_for("sendMessage")
    assert harness.rasa.received == [
        {"sender": str(DEFAULT_USER_ID), "message": "Is there a hub near Keighley?"}]
    assert call.params["chat_id"] == DEFAULT_USER_ID
    assert call.params["text"] == "The nearest hubs to Keighley: ..."
    keyboard = call.params["reply_markup"]["inline_keyboard"]
    assert [[b["text"] for b in row] for row in keyboard] == [["About NPQH"]]
    assert len(keyboard[0][0]["callback_data"].encode()) <= 64
    typing = [c for c in harness.fake.calls if c.method == "sendChatAction"]
    assert typing and typing[0].params["action"] == "typing"


async def test_pressing_a_button_sends_its_payload_and_tidies_the_keyboard(
    harness: Harness,
) -> None:
    harness.fake.push_update(text_update("hub near keighley"))
    sent = await harness.fake.wait_for("sendMessage")
    markup = sent.params["reply_markup"]
    data = markup["inline_keyboard"][0][0]["callback_data"]
    mark = len(harness.fake.calls)
    harness.fake.push_update(callback_update(data, reply_markup=markup))
    await harness.fake.wait_for("answerCallbackQuery", after=mark)
    await harness.fake.wait_for("editMessageReplyMarkup", after=mark)
    await harness.fake.wait_for("sendMessage", after=mark)
    assert harness.rasa.received[-1]["message"] == '/programme_info{"npq": "NPQH"}'


async def test_a_forged_or_expired_button_is_not_forwarded(harness: Harness) -> None:
    harness.fake.push_update(callback_update('/greet{"evil": 1}'))
    call = await harness.fake.wait_for("sendMessage")
    assert call.params["text"] == EXPIRED_BUTTON
    assert harness.rasa.received == []


@pytest.mark.parametrize("typed", [
    '/find_hub{"location": "Keighley"}', "/greet", "  /out_of_scope", "/nonsense",
])
async def test_slash_text_never_reaches_rasa(harness: Harness, typed: str) -> None:
    harness.fake.push_update(text_update(typed))
    call = await harness.fake.wait_for("sendMessage")
    assert call.params["text"] == UNKNOWN_COMMAND
    assert harness.rasa.received == []


async def test_start_greets_through_rasa_and_help_is_local(harness: Harness) -> None:
    harness.rasa.reply = [{"text": "Hello!", "buttons": [{"title": "Find my nearest hub",
                                                           "payload": "/find_hub"}]}]
    harness.fake.push_update(text_update("/start"))
    await harness.fake.wait_for("sendMessage", lambda p: p["text"] == "Hello!")
    assert harness.rasa.received == [{"sender": str(DEFAULT_USER_ID), "message": "/greet"}]
    harness.fake.push_update(text_update("/help"))
    help_call = await harness.fake.wait_for("sendMessage", lambda p: "What is NPQH?" in p["text"])
    assert "Is there a hub near Keighley?" in help_call.params["text"]
    assert len(harness.rasa.received) == 1


async def test_a_shared_location_asks_rasa_for_hubs_near_it(harness: Harness) -> None:
    harness.fake.push_update(location_update(53.867912, -1.906641))
    await harness.fake.wait_for("sendMessage")
    message = harness.rasa.received[0]["message"]
    assert message.startswith("/find_hub{")
    assert json.loads(message.removeprefix("/find_hub")) == {"latitude": 53.86791,
                                                             "longitude": -1.90664}


@pytest.mark.parametrize("update", [sticker_update, photo_update])
async def test_non_text_gets_a_friendly_explanation(harness: Harness, update: Any) -> None:
    harness.fake.push_update(update())
    call = await harness.fake.wait_for("sendMessage")
    assert call.params["text"] == NOT_TEXT
    assert harness.rasa.received == []


async def test_rasa_down_gets_a_short_apology(harness: Harness) -> None:
    harness.rasa.down = True
    harness.fake.push_update(text_update("hub near leeds"))
    call = await harness.fake.wait_for("sendMessage")
    assert call.params["text"] == UNAVAILABLE


async def test_an_empty_reply_from_rasa_still_gets_an_answer(harness: Harness) -> None:
    harness.rasa.reply = []  # what Rasa sends when a custom action failed
    harness.fake.push_update(text_update("hub near leeds"))
    call = await harness.fake.wait_for("sendMessage")
    assert call.params["text"] == NO_ANSWER


async def test_forgetting_erases_the_conversation_rasa_keeps(harness: Harness) -> None:
    harness.rasa.reply = [{"text": "Done: I've deleted everything I held about you."},
                          {"custom": {"erase_conversation": True}}]
    harness.fake.push_update(text_update("yes"))
    call = await harness.fake.wait_for("sendMessage")
    assert call.params["text"] == "Done: I've deleted everything I held about you."
    await asyncio.wait_for(harness.rasa.erased.wait(), timeout=10)
    assert harness.rasa.replaced == [(f"/conversations/{DEFAULT_USER_ID}/tracker/events", [])]
    assert [c.params["text"] for c in harness.fake.calls if c.method == "sendMessage"] == [
        "Done: I've deleted everything I held about you."]
