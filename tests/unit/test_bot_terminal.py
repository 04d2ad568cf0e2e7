"""The terminal chat (`make run` without a token): numbered buttons, the location hint, and an
apology when Rasa is down."""

from __future__ import annotations

import pytest

from bot.render import TRY_AGAIN
from bot.terminal import chat
from npq.settings import Settings
from tests.support.bot_harness import FakeRasa


async def converse(rasa: FakeRasa, *lines: str) -> list[str]:
    said = iter(lines)
    written: list[str] = []

    async def read() -> str | None:
        return next(said, None)

    await chat(Settings(database_url="sqlite://"), read=read, write=written.append,
               rasa=rasa.client())
    return written[1:]  # after the banner


async def test_buttons_are_numbered_and_a_number_presses_one() -> None:
    rasa = FakeRasa(reply=[{"text": "Where are you?", "buttons": [
        {"title": "Leeds", "payload": '/find_hub{"location": "Leeds"}'}]},
        {"custom": {"ask_location": True}}])
    written = await converse(rasa, "nearest hub", "1")
    assert written[0] == ("bot> Where are you?\n       [1] Leeds\n"
                          "     (or share a location: /location 53.87 -1.91)")
    assert [m["message"] for m in rasa.received] == ["nearest hub",
                                                     '/find_hub{"location": "Leeds"}']


@pytest.mark.parametrize("line", ["/greet", "/location 53.8 -1.9"])
async def test_commands_are_handled_by_the_terminal(line: str) -> None:
    rasa = FakeRasa()
    await converse(rasa, line)
    assert [m["message"] for m in rasa.received] == (
        [] if line == "/greet" else ['/find_hub{"latitude": 53.8, "longitude": -1.9}'])


async def test_rasa_down_gets_an_apology() -> None:
    assert await converse(FakeRasa(down=True), "hello") == [TRY_AGAIN]
