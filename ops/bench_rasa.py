"""The Rasa benchmark: straight to the Rasa server's REST channel (no front, no bot), with the
action server and a copy of the seeded database, as ops/stack.py starts them.

    make bench-rasa                              TURNS=60 CLIENTS=8 DURATION=30
    .venv/bin/python -m ops.bench_rasa [--profile rasa.txt]

It prints the time the servers took to answer after starting, then: NLU alone (POST
/model/parse) one at a time; a turn one at a time (each from a new conversation); one
conversation's turns 1-5 against its turns 36-40 (a turn costs more as a conversation grows);
and CLIENTS concurrent clients for DURATION seconds (turns a second, p50, p95). With --profile
FILE, py-spy samples the Rasa server during the concurrent part (collapsed stacks in FILE, top
functions printed).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from ops.bench import (
    QUESTIONS,
    cpu_seconds,
    database_copy,
    percentile,
    profiling,
    rss,
    seconds,
    tree,
)
from ops.model import model_path
from ops.ports import free_port
from ops.stack import Stack

WEBHOOK = "/webhooks/rest/webhook"


async def turn(client: httpx.AsyncClient, sender: str, text: str) -> float:
    started = time.perf_counter()
    response = await client.post(WEBHOOK, json={"sender": sender, "message": text})
    response.raise_for_status()
    if not response.json():
        raise SystemExit(f"Rasa answered nothing to {text!r}: see the logs")
    return time.perf_counter() - started


async def parse(client: httpx.AsyncClient, text: str, token: dict[str, str]) -> float:
    """One NLU parse; Rasa's HTTP API wants the stack's token (the webhook does not)."""
    started = time.perf_counter()
    (await client.post("/model/parse", json={"text": text}, params=token)).raise_for_status()
    return time.perf_counter() - started


def line(what: str, times: list[float]) -> str:
    return (f"{what}: p50 {seconds(percentile(times, 0.5))}, p95 "
            f"{seconds(percentile(times, 0.95))} ({len(times)})")


def cpu_line(what: str, used: tuple[float, float], turns: int) -> str:
    return (f"{what}: Rasa {1000 * used[0] / turns:.0f} ms of CPU a turn, the action server "
            f"{1000 * used[1] / turns:.0f} ms")


async def measure(url: str, turns: int, clients: int, duration: float, rasa_pid: int,
                  actions_pid: int, profile: str | None, token: dict[str, str]) -> None:
    def cpu() -> tuple[float, float]:
        return cpu_seconds(tree(rasa_pid)), cpu_seconds(tree(actions_pid))

    def since(before: tuple[float, float]) -> tuple[float, float]:
        now = cpu()
        return now[0] - before[0], now[1] - before[1]

    async with httpx.AsyncClient(base_url=url, timeout=120.0) as client:
        for n in range(5):
            await turn(client, f"warm-{n}", QUESTIONS[n])
        questions = itertools.cycle(QUESTIONS)
        print(line("NLU parse, one at a time", [await parse(client, next(questions), token)
                                               for _ in range(turns)]), flush=True)
        before = cpu()
        print(line("turn, one at a time", [await turn(client, f"one-{n}", next(questions))
                                           for n in range(turns)]), flush=True)
        print(cpu_line("turn, one at a time", since(before), turns), flush=True)
        growing = [await turn(client, "long", next(questions)) for _ in range(40)]
        print(f"one conversation: turns 1-5 median {seconds(statistics.median(growing[:5]))}, "
              f"turns 36-40 median {seconds(statistics.median(growing[35:]))}", flush=True)

        times: list[float] = []
        senders = itertools.count()
        stop = time.monotonic() + duration

        async def client_loop() -> None:
            while time.monotonic() < stop:
                times.append(await turn(client, f"many-{next(senders)}", next(questions)))

        started, before = time.monotonic(), cpu()
        with profiling(rasa_pid, profile, duration):
            await asyncio.gather(*(client_loop() for _ in range(clients)))
        elapsed = time.monotonic() - started
        print(f"{clients} concurrent clients: {len(times) / elapsed:.1f} turns/s, "
              + line("turn", times).removeprefix("turn: "), flush=True)
        print(cpu_line(f"{clients} concurrent clients", since(before), len(times)), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--turns", type=int, default=60)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--profile", default=None,
                        help="py-spy the Rasa server under the concurrent clients into this file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="npq-bench-") as folder:
        env = {**os.environ, "DATABASE_URL": database_copy(Path(folder)),
               "TRACKER_STORE_URL": ""}
        started = time.monotonic()
        with Stack(rasa_port=free_port(), action_port=free_port(), model=model_path(),
                   log_dir=Path(folder) / "log", env=env) as stack:
            print(f"==> Rasa and the action server answer after {time.monotonic() - started:.1f}"
                  f" s; {os.cpu_count()} CPUs", flush=True)
            asyncio.run(measure(stack.rasa_url, args.turns, args.clients, args.duration,
                                stack.processes["rasa"].pid, stack.processes["actions"].pid,
                                args.profile, stack.rasa_params))
            servers = [pid for process in stack.processes.values() for pid in tree(process.pid)]
            print(f"resident memory now: {rss(servers) / 2**20:.0f} MB (Rasa and actions)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
