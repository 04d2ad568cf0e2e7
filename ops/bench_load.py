"""The load benchmark: the whole stack as `make run` starts it, with the bot on the Bot API
stand-in (ops/fake_bot_api.py), everyday questions from many chats arriving at random.

    make bench-load                              RATES=2,4,8,15 DURATION=40 CHATS=300
    .venv/bin/python -m ops.bench_load --rates 10,20,30 --duration 30 [--profile rasa.txt]

It starts `python -m ops.supervisor` (set-up must be done: `make bench-load` does it) with a
copy of the seeded database and free ports, times the cold start (from the start to the first
answer), sends a few warm-up messages one at a time, times one conversation's first and last
turns (LONG turns, one at a time: turns slow down as a conversation grows), then for each rate
offers Poisson arrivals for DURATION seconds: each message goes to a chat with nothing
outstanding (a chat's messages are answered in order, so one at a time is what can be timed),
picked at random from CHATS (a new chat when all are busy). Each rate has chats of its own:
conversations start fresh.

Per rate it prints: the rate offered and achieved (answers a second, from the first message to
the last answer), the first reply's p50/p95/p99 (an answer or any acknowledgement: the first
sendMessage to the chat), the answer's (the first sendMessage with buttons: every answer ends
with buttons, apologies and acknowledgements have none), how many had no reply within 5 s, how
many had no answer within 20 s, how many were lost (no answer DRAIN seconds after the rate's
last message), the peak resident memory of the whole process tree (supervisor, front, Rasa
servers, action server, bot: RSS summed, and PSS, which counts a page the processes share once)
and the CPU time the stack used per answer, in all and per process (which, unlike the
latencies, does not depend on what else the machine runs). With --profile FILE, py-spy
samples the Rasa server during the last rate (collapsed stacks in FILE, top functions printed).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ops.bench import (
    QUESTIONS,
    PeakMemory,
    by_role,
    cpu_seconds,
    database_copy,
    find,
    percentile,
    profiling,
    pss,
    rss,
    seconds,
    tree,
)
from ops.fake_bot_api import ApiCall, FakeBotAPI
from ops.paths import APP_PYTHON, ROOT
from ops.ports import free_port

ACK_WITHIN = 5.0  # Telegram users expect a sign of life within seconds
ANSWER_WITHIN = 20.0
COOLDOWN = 2.0  # a chat rests this long after its answer (the rest of the turn's messages)
WARMUP = 8


@dataclass
class Message:
    chat: int
    sent: float
    first_reply: float | None = None
    answered: float | None = None


@dataclass
class Load:
    """Messages in flight and their replies, fed by the stand-in's observer."""

    outstanding: dict[int, Message] = field(default_factory=dict)  # chat -> its message
    resting: dict[int, float] = field(default_factory=dict)  # chat -> busy until
    done: asyncio.Event = field(default_factory=asyncio.Event)
    messages: list[Message] = field(default_factory=list)

    def observe(self, call: ApiCall) -> None:
        if call.method.lower() != "sendmessage":
            return
        message = self.outstanding.get(call.params.get("chat_id"))  # type: ignore[arg-type]
        if message is None:
            return
        now = time.monotonic()
        if message.first_reply is None:
            message.first_reply = now
        if _has_buttons(call.params):
            message.answered = now
            del self.outstanding[message.chat]
            self.resting[message.chat] = now + COOLDOWN
            if not self.outstanding:
                self.done.set()

    def idle(self, chats: range) -> list[int]:
        now = time.monotonic()
        return [c for c in chats if c not in self.outstanding and self.resting.get(c, 0) <= now]

    def send(self, fake: FakeBotAPI, chat: int, text: str) -> Message:
        message = Message(chat, time.monotonic())
        self.outstanding[chat] = message
        self.messages.append(message)
        self.done.clear()
        fake.push_update(_text_update(chat, text))
        return message


def _has_buttons(params: dict[str, Any]) -> bool:
    markup = params.get("reply_markup")
    return isinstance(markup, dict) and bool(markup.get("inline_keyboard"))


_update_ids = iter(range(1, 1 << 62))


def _text_update(chat: int, text: str) -> dict[str, Any]:
    user = {"id": chat, "is_bot": False, "first_name": "Bench", "language_code": "en"}
    return {"message": {"message_id": next(_update_ids), "from": user, "date": int(time.time()),
                        "chat": {"id": chat, "type": "private", "first_name": "Bench"},
                        "text": text}}


@dataclass(frozen=True)
class Row:
    offered: float
    sent: int
    achieved: float
    first: list[float]
    answers: list[float]
    peak_rss: int
    peak_pss: int
    cpu: float  # the stack's CPU seconds

    def cells(self) -> list[str]:
        late_ack = sum(1 for t in self.first if t > ACK_WITHIN)
        late = sum(1 for t in self.answers if t > ANSWER_WITHIN)
        lost = sum(1 for t in self.answers if t == float("inf"))
        return [f"{self.offered:g} msg/s ({self.sent})", f"{self.achieved:.1f}/s",
                *(seconds(percentile(self.first, q)) for q in (0.5, 0.95, 0.99)),
                *(seconds(percentile(self.answers, q)) for q in (0.5, 0.95, 0.99)),
                str(late_ack), str(late), str(lost), f"{self.peak_rss / 2**20:.0f} MB",
                f"{self.peak_pss / 2**20:.0f} MB",
                f"{1000 * self.cpu / max(1, self.sent - lost):.0f} ms"]


HEADER = ["offered (messages)", "achieved", "first reply p50", "p95", "p99", "answer p50", "p95",
          "p99", f"no reply in {ACK_WITHIN:g} s", f"no answer in {ANSWER_WITHIN:g} s", "lost",
          "peak stack RSS", "PSS", "stack CPU per answer"]


def table(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


async def offer(fake: FakeBotAPI, load: Load, rate: float, duration: float, chats: range,
                spare: Iterator[int], rng: random.Random, drain: float) -> tuple[int, float, float]:
    """Poisson arrivals at `rate` for `duration` s; wait for the answers (at most `drain` s
    after the last message). How many were sent, when the first went and the last answer."""
    start = time.monotonic()
    load.messages = []
    due = start
    while True:
        due += rng.expovariate(rate)
        if due - start > duration:
            break
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        idle = load.idle(chats)
        chat = rng.choice(idle) if idle else next(spare)
        load.send(fake, chat, rng.choice(QUESTIONS))
    if load.outstanding:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(load.done.wait(), drain)
    answered = [m.answered for m in load.messages if m.answered is not None]
    return len(load.messages), start, max(answered, default=start)


async def bench(rates: list[float], duration: float, chats: int, drain: float, seed: int,
                profile: str | None, long: int) -> None:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="npq-bench-") as folder:
        async with FakeBotAPI() as fake:
            load = Load()
            fake.observer = load.observe
            env = {**os.environ, "TELEGRAM_BOT_TOKEN": fake.token,
                   "TELEGRAM_API_BASE_URL": fake.base_url, "DATABASE_URL":
                   database_copy(Path(folder)), "TRACKER_STORE_URL": "",
                   "RASA_PORT": str(free_port()), "ACTION_SERVER_PORT": str(free_port()),
                   "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1",
                   # the long conversation sends 40 questions from one chat, one after another:
                   # a measurement, not a flood to limit
                   "FLOOD_MESSAGES": "100000"}
            log = Path(folder) / "supervisor.log"
            started = time.monotonic()
            with log.open("wb") as output:
                stack = subprocess.Popen([str(APP_PYTHON), "-m", "ops.supervisor"], cwd=ROOT,
                                         env=env, stdin=subprocess.DEVNULL, stdout=output,
                                         stderr=subprocess.STDOUT)
            try:
                with PeakMemory(stack.pid) as memory:
                    await _run(fake, load, stack, memory, started, rates, duration, chats, drain,
                               rng, profile, long, front=f"http://127.0.0.1:{env['RASA_PORT']}")
            except BaseException:
                print(log.read_text()[-3000:], file=sys.stderr)
                raise
            finally:
                stack.terminate()
                stack.wait(60)


async def _run(fake: FakeBotAPI, load: Load, stack: subprocess.Popen[bytes], memory: PeakMemory,
               started: float, rates: list[float], duration: float, chats: int, drain: float,
               rng: random.Random, profile: str | None, long: int, front: str) -> None:
    answering = asyncio.ensure_future(_rasa_answers(front))
    polling = await fake.wait_for("getUpdates", timeout=600.0)
    polled = time.monotonic()
    del polling
    for n in range(WARMUP):  # one at a time: the first is the cold start
        if stack.poll() is not None:
            raise SystemExit(f"the stack stopped (exit code {stack.returncode})")
        message = load.send(fake, 1_000_000 + n, QUESTIONS[n % len(QUESTIONS)])
        await asyncio.wait_for(load.done.wait(), 120.0)
        if n == 0:
            assert message.answered is not None
            rasa_ready = await answering
            print(f"cold start: {message.answered - started:.1f} s from starting the stack to "
                  f"the first answer (Rasa answering after {rasa_ready - started:.1f} s, the bot "
                  f"polling after {polled - started:.1f} s); peak RSS so far "
                  f"{memory.peak / 2**20:.0f} MB", flush=True)
    await _all_servers_ready(front, stack)
    if long:
        times = []
        for n in range(long):  # one conversation, one message at a time
            message = load.send(fake, 2_000_000, QUESTIONS[n % len(QUESTIONS)])
            await asyncio.wait_for(load.done.wait(), 120.0)
            assert message.answered is not None
            times.append(message.answered - message.sent)
            await asyncio.sleep(0.5)  # the rest of the turn (the log, thumbs, a new session)
        print(f"one conversation of {long} turns: answer median turns 1-5 "
              f"{seconds(statistics.median(times[:5]))}, turns {long - 4}-{long} "
              f"{seconds(statistics.median(times[-5:]))}", flush=True)
    rows = []
    for index, rate in enumerate(rates):
        memory.reset()
        base = 10_000_000 * (index + 1)
        last = index == len(rates) - 1
        rasa = find(stack.pid, "rasa_components.serve run") if profile and last else None
        cpu_before = cpu_seconds(tree(stack.pid))
        roles_before = by_role(tree(stack.pid), cpu_seconds)
        own_before = cpu_seconds([os.getpid()])
        with profiling(rasa, profile if last else None, duration):
            sent, start, end = await offer(fake, load, rate, duration, range(base, base + chats),
                                           itertools.count(base + chats), rng, drain)
        answered = [m for m in load.messages if m.answered is not None]
        inf = float("inf")
        rows.append(Row(
            offered=rate, sent=sent, achieved=len(answered) / max(end - start, 1e-9),
            first=[(m.first_reply - m.sent) if m.first_reply else inf for m in load.messages],
            answers=[(m.answered - m.sent) if m.answered else inf for m in load.messages],
            peak_rss=memory.peak, peak_pss=memory.peak_pss,
            cpu=cpu_seconds(tree(stack.pid)) - cpu_before))
        print(table(rows[-1:]).splitlines()[-1], flush=True)
        answers = max(1, len(answered))
        print("  CPU per answer: " + ", ".join(
            f"{role} {1000 * (used - roles_before.get(role, 0.0)) / answers:.0f} ms"
            for role, used in sorted(by_role(tree(stack.pid), cpu_seconds).items()))
            + f"; this benchmark (the Bot API stand-in and the load, on the same cores) "
              f"{1000 * (cpu_seconds([os.getpid()]) - own_before) / answers:.0f} ms", flush=True)
        load.outstanding.clear()  # lost ones are not waited for by the next rate
    pids = tree(stack.pid)
    rss_now, pss_now = by_role(pids, rss), by_role(pids, pss)
    print("memory now, RSS / PSS: " + ", ".join(
        f"{role} {rss_now[role] / 2**20:.0f} / {pss_now.get(role, 0) / 2**20:.0f} MB"
        for role in sorted(rss_now)), flush=True)
    if rows:
        print()
        print(table(rows))


async def _rasa_answers(url: str) -> float:
    """When Rasa (through the front) first answered GET /status."""
    async with httpx.AsyncClient(timeout=2.0) as client:
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{url}/status")).status_code == 200:
                    return time.monotonic()
            await asyncio.sleep(0.2)  # a readiness probe interval


async def _all_servers_ready(front: str, stack: subprocess.Popen[bytes]) -> None:
    """The bot starts once the first Rasa server answers; the others join the front's set as
    they load (ops/rasa_front.py). Wait for them all (GET /front/status) so that every rate
    runs on the whole set."""
    async with httpx.AsyncClient(base_url=front, timeout=5.0) as client:
        for _ in range(1200):
            if stack.poll() is not None:
                raise SystemExit(f"the stack stopped (exit code {stack.returncode})")
            status = (await client.get("/front/status")).json()
            if not status.get("starting"):
                print(f"Rasa servers: {status.get('servers')}", flush=True)
                return
            await asyncio.sleep(0.5)  # readiness probe interval
    raise SystemExit("the Rasa servers did not all start within 10 minutes")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rates", default="2,4,8,15",
                        help="messages a second to offer, comma-separated")
    parser.add_argument("--duration", type=float,
                        default=40,
                        help="seconds of arrivals per rate")
    parser.add_argument("--chats", type=int, default=300,
                        help="chats the messages come from")
    parser.add_argument("--drain", type=float, default=90,
                        help="seconds to wait for answers after a rate's last message")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--long", type=int, default=40,
                        help="turns of one conversation, one at a time, before the rates (0: none)")
    parser.add_argument("--profile", default=None,
                        help="py-spy the Rasa server during the last rate into this file")
    args = parser.parse_args(argv)
    rates = [float(rate) for rate in args.rates.split(",") if rate.strip()]
    print(f"==> load benchmark: {', '.join(f'{r:g}' for r in rates)} msg/s, {args.duration:g} s "
          f"each, {args.chats} chats, {os.cpu_count()} CPUs", flush=True)
    asyncio.run(bench(rates, args.duration, args.chats, args.drain, args.seed, args.profile,
                      args.long))
    return 0


if __name__ == "__main__":
    sys.exit(main())
