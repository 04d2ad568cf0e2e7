"""Chat with the assistant in a terminal: the same Rasa conversation, no Telegram token needed.

Buttons are shown as numbered options: type the number to press one. `/location LAT LON`
stands in for sharing a location, `/help` shows examples, `/quit` (or Ctrl-D) leaves. Typed
messages are logged for review like Telegram's (bot/turns.py).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

from bot.db import Database, utcnow
from bot.erasure import Eraser
from bot.rasa_client import (
    RasaButton,
    RasaClient,
    RasaReply,
    RasaUnavailable,
    is_command,
    wants_erasure,
    wants_location,
)
from bot.render import (
    HELP_TEXT,
    NO_ANSWER,
    TRY_AGAIN,
    UNKNOWN_COMMAND,
    button_rows,
    location_payload,
)
from bot.tracker import TrackerStore
from bot.turns import TurnRecorder, read_threshold
from npq.settings import Settings
from ops.paths import ROOT

PROMPT = "you> "
BANNER = ("Chatting with the NPQ assistant in the terminal. Try \"Is there a hub near "
          "Keighley?\". Type a number to press a button, /help for examples, /quit to leave.")


async def _read_line() -> str | None:
    try:
        return await asyncio.to_thread(input, PROMPT)
    except EOFError:
        return None


def render(replies: list[RasaReply]) -> tuple[str, list[RasaButton]]:
    """The replies as terminal text, with buttons numbered across the whole turn."""
    lines: list[str] = []
    buttons: list[RasaButton] = []
    for reply in replies:
        if reply.text:
            lines.append(reply.text)
        for row in button_rows([b.title for b in reply.buttons]):
            numbered = []
            for index in row:
                buttons.append(reply.buttons[index])
                numbered.append(f"[{len(buttons)}] {reply.buttons[index].title}")
            lines.append("  " + "   ".join(numbered))
    if wants_location(replies):
        lines.append("(or share a location: /location 53.87 -1.91)")
    return "\n".join(f"bot> {line}" if i == 0 else f"     {line}"
                     for i, line in enumerate("\n".join(lines).splitlines())), buttons


async def chat(settings: Settings, read: Callable[[], Awaitable[str | None]] = _read_line,
               write: Callable[[str], None] = print, rasa: RasaClient | None = None) -> int:
    """Run the conversation until /quit or end of input."""
    rasa = rasa or RasaClient(settings.rasa_url, timeout=settings.rasa_timeout_seconds,
                              token=settings.rasa_auth_token)
    tracker = TrackerStore(settings.effective_tracker_store_url)
    db = Database(settings.database_url)
    recorder = TurnRecorder(tracker, db, utcnow, threshold=read_threshold(ROOT / "config.yml"))
    eraser = Eraser(db, rasa, tracker, ROOT, utcnow)
    sender = f"terminal-{uuid.uuid4().hex[:12]}"
    buttons: list[RasaButton] = []
    write(BANNER)
    try:
        while (line := await read()) is not None:
            line = line.strip()
            if not line:
                continue
            if line in ("/quit", "/exit"):
                break
            typed = False
            if line.isdigit() and 1 <= int(line) <= len(buttons):
                message = buttons[int(line) - 1].payload
            elif line == "/help":
                write(HELP_TEXT)
                continue
            elif line.startswith("/location"):
                try:
                    latitude, longitude = map(float, line.split()[1:3])
                except ValueError:
                    write("Usage: /location 53.87 -1.91")
                    continue
                message = location_payload(latitude, longitude)
            elif is_command(line):
                write(UNKNOWN_COMMAND)
                continue
            else:
                message, typed = line, True
            try:
                replies = await (rasa.send_text(sender, message) if typed
                                 else rasa.send_payload(sender, message))
            except RasaUnavailable:
                write(TRY_AGAIN)  # nothing is kept here
                buttons = []
                continue
            text, buttons = render(replies)
            write(text or f"bot> {NO_ANSWER}")
            if typed:
                await recorder.record(sender, message, replies)
            if wants_erasure(replies):  # the rest, and what is true about it
                outcome, _ = await eraser.erase(sender)
                write(f"bot> {outcome.message()}")
    finally:
        await rasa.aclose()
        tracker.dispose()
        db.dispose()
    return 0
