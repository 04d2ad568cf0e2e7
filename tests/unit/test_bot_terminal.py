"""The terminal chat (`make run` without a token): numbered buttons, the location hint, and an
apology when Rasa is down."""

from __future__ import annotations

import pytest

from bot.render import TRY_AGAIN, button_rows
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


@pytest.mark.parametrize("titles, rows", [
    (["NPQLBC", "NPQLL", "NPQLPM", "NPQLT", "NPQLTD", "NPQEL", "NPQEYL"],
     [[0, 1, 2], [3, 4, 5], [6]]),  # programme codes: three a row
    (["Am I eligible?", "Deadlines", "How do I apply?"], [[0, 1], [2]]),  # short phrases: two
    (["Remind me about deadlines", "NPQH", "NPQSL"], [[0], [1, 2]]),  # a long title: alone
    (["NPQH", "Find my nearest hub", "NPQSL", "EHCO"], [[0, 1], [2, 3]]),
    (["Yes", "No"], [[0, 1]]), ([], []),
])
def test_buttons_share_rows_when_their_titles_are_short(titles: list[str],
                                                        rows: list[list[int]]) -> None:
    assert button_rows(titles) == rows


async def test_programme_codes_are_numbered_three_a_line() -> None:
    codes = ["NPQEL", "NPQEYL", "NPQH", "NPQLBC"]
    rasa = FakeRasa(reply=[{"text": "Which one?", "buttons": [
        {"title": code, "payload": f'/programme_info{{"npq": "{code}"}}'} for code in codes]}])
    written = await converse(rasa, "what npqs are there", "4")
    assert written[0] == ("bot> Which one?\n"
                          "       [1] NPQEL   [2] NPQEYL   [3] NPQH\n"
                          "       [4] NPQLBC")
    assert rasa.received[-1]["message"] == '/programme_info{"npq": "NPQLBC"}'


async def test_forget_me_in_the_terminal_says_when_the_conversation_is_deleted(
        database: str) -> None:
    rasa = FakeRasa(reply=[{"text": "I've deleted the details I held about you. Now deleting "
                                    "our conversation…"}, {"custom": {"erase_conversation": True}}])
    said = iter(["yes"])
    written: list[str] = []

    async def read() -> str | None:
        return next(said, None)

    await chat(Settings(database_url=database), read=read, write=written.append,
               rasa=rasa.client())
    assert written[-1] == "bot> Done: our conversation is deleted too."
    assert [path for path, _ in rasa.replaced] == [f"/conversations/{rasa.received[0]['sender']}"
                                                   "/tracker/events"] * 2
