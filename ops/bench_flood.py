"""The flood benchmark: one chat sends 150 messages at once while ten other chats ask one
question each; prints the other chats' latency (p50, p95, max), how many were lost, and what
the flooding chat received.

    make bench-flood                  (python -m ops.bench_flood [--flood 150] [--others 10])

The bot runs in this process on its real python-telegram-bot HTTP path against the stand-in
Bot API (tests/support/fake_bot_api.py) with a copy of the seeded SQLite database; Rasa is the
tests' stand-in, answering each message after RASA_SECONDS (a real Rasa takes 0.1-1 s here).
A chat that gets no answer within --wait seconds counts as lost. The target: p95 under 2 s,
none lost. Run it under /work/bin/cpu-exclusive (or on a quiet machine) for figures to quote.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import importlib
import logging
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

from npq.settings import Settings

# The tests' stand-ins, imported at run time (the type checker covers the product, not tests/).
harness: Any = importlib.import_module("tests.support.bot_harness")
updates: Any = importlib.import_module("tests.support.updates")
fixtures: Any = importlib.import_module("tests.conftest")

RASA_SECONDS = 0.1
FLOODER = 900_000
OTHERS = 910_000


def slow_rasa(seconds: float = RASA_SECONDS) -> Any:
    """The stand-in Rasa, taking `seconds` to answer each message."""
    rasa = harness.FakeRasa(answer=echo)
    answer = rasa.handle

    async def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/webhook") and request.url.host != "actions.test":
            await asyncio.sleep(seconds)
        return await answer(request)  # type: ignore[no-any-return]

    rasa.handle = handle
    return rasa


def echo(sender: str, message: str) -> list[dict[str, Any]]:
    return [{"text": f"answer to {message}"}]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


async def bench(flood: int, others: int, wait: float, database: str,
                limit: int | None = None) -> dict[str, Any]:
    rasa = slow_rasa()
    names = {f.name for f in dataclasses.fields(Settings)}
    wanted: dict[str, Any] = {"outbox_retry_seconds": 1.0}
    if limit is not None:
        wanted["flood_messages"] = limit
    overrides = {k: v for k, v in wanted.items() if k in names}  # main before the outbox too
    async with harness.running_bot(database, rasa=rasa, **overrides) as bot:
        loop = asyncio.get_running_loop()
        flood_ids = [bot.fake.push_update(updates.text_update(f"flood {n}", user_id=FLOODER))
                     for n in range(flood)]
        started = loop.time()
        latencies: dict[int, float] = {}

        async def ask(chat: int) -> None:
            question = f"question from {chat}"
            bot.fake.push_update(updates.text_update(question, user_id=chat))
            try:
                await bot.fake.wait_for("sendMessage", lambda p: p["chat_id"] == chat
                                        and p["text"] == f"answer to {question}", timeout=wait)
            except TimeoutError:
                return
            latencies[chat] = loop.time() - started

        await asyncio.gather(*(ask(OTHERS + n) for n in range(others)))
        for update_id in flood_ids:  # let the flood settle: every update handled
            try:
                await bot.handled(update_id, timeout=max(1.0, wait - (loop.time() - started)))
            except TimeoutError:
                break
        await bot.chat_idle(FLOODER, timeout=wait)
        received = [c.params["text"] for c in bot.fake.calls
                    if c.method == "sendMessage" and c.ok and c.params["chat_id"] == FLOODER]
    answered = [t for t in received if t.startswith("answer to flood")]
    notices = [t for t in received if not t.startswith("answer to")]
    return {"latencies": list(latencies.values()), "lost": others - len(latencies),
            "others": others, "flood": flood, "answered": len(answered),
            "notices": notices, "asked_rasa": sum(1 for r in rasa.received
                                                  if r["sender"] == str(FLOODER))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flood", type=int, default=150, help="messages the flooding chat sends")
    parser.add_argument("--others", type=int, default=10, help="chats asking one question each")
    parser.add_argument("--wait", type=float, default=120.0,
                        help="seconds a chat waits for its answer before it counts as lost")
    parser.add_argument("--limit", type=int, default=None,
                        help="FLOOD_MESSAGES for this run (default: the setting's default)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)  # the figures, not the bot's warnings
    with tempfile.TemporaryDirectory() as folder:
        database = f"sqlite:///{Path(folder) / 'npq.db'}"
        fixtures.seed(database)
        result = asyncio.run(bench(args.flood, args.others, args.wait, database, args.limit))
    latencies = result["latencies"]
    print(f"flood: one chat sends {result['flood']} messages at once, {result['others']} other "
          f"chats ask one question each (Rasa stand-in: {RASA_SECONDS:.1f} s an answer)")
    if latencies:
        print(f"other chats: p50 {statistics.median(latencies):.2f} s, "
              f"p95 {percentile(latencies, 0.95):.2f} s, max {max(latencies):.2f} s, "
              f"lost {result['lost']} of {result['others']}")
    else:
        print(f"other chats: none answered within {args.wait:.0f} s (lost {result['lost']})")
    dropped = result["flood"] - result["asked_rasa"]
    print(f"flooding chat: {result['answered']} answers, {len(result['notices'])} other "
          f"message(s){': ' + repr(result['notices'][0][:70]) if result['notices'] else ''}; "
          f"{dropped} of its messages never reached Rasa")
    return 0 if latencies else 1


if __name__ == "__main__":
    sys.exit(main())
