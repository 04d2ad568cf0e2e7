"""The fault benchmark: `make run` (ops.supervisor: the action server, Rasa and the bot) on a
PostgreSQL database, with the stand-in Bot API; each fault of issue 11's table injected one at a
time while a user asks a question, then what survived.

    BENCH_DATABASE_URL=postgresql://... make bench-faults     (python -m ops.bench_faults)

BENCH_DATABASE_URL names a PostgreSQL database it may empty and seed.

| fault | injected |
|---|---|
| Telegram answers 502 three times to a reply | the stand-in fails the next three sendMessage |
| Telegram answers 429 (retry_after 1 s) five times | the same, with 429 and retry_after |
| the action server is killed | SIGKILL, then the question |
| the Rasa server is killed | SIGKILL, then the question |
| the database refuses connections for 20 s | a loopback proxy to it closes all and refuses |
| the stack restarts in the middle of a form | SIGTERM to the supervisor mid-form, then again |

A fault survived when the user got the answer, exactly once (apologies and "thanks for
waiting" apart), within the deadline. The processes killed are found by a marker in their
environment, so no other Rasa on the machine is touched. Everything started is stopped at the
end; the database is left seeded.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import signal
import sys
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url

from ops.paths import APP_PYTHON, ROOT
from ops.ports import free_port

fake_api: Any = importlib.import_module("tests.support.fake_bot_api")
updates: Any = importlib.import_module("tests.support.updates")
fixtures: Any = importlib.import_module("tests.conftest")

MARKER = "NPQ_BENCH_FAULTS"
QUESTION = "Is there a hub near Leeds?"
FORM_START, FORM_ANSWER = "Which NPQ should I do?", "I'm a deputy head"
ROLE_QUESTION, AMBITION_QUESTION = "What's your role", "What would you like to do next"
READY_TIMEOUT = 600.0  # the first Rasa load, on two busy cores
ANSWER_TIMEOUT = 400.0  # a restarted Rasa loads its model again
SETTLE = 10.0  # seconds to watch for a second copy of an answer
# How the bot's apologies and notices open (bot/render.py): never an answer.
NOT_ANSWERS = ("Sorry, ", "Thanks for waiting")


class Proxy:
    """A loopback TCP proxy to the database that can refuse connections for a while."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._pipes |= {writer, up_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()
            self._pipes.discard(sink)

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def refuse(self, seconds: float) -> None:
        """Close every connection and refuse new ones for `seconds`."""
        await self.stop()
        await asyncio.sleep(seconds)  # the fault's length
        await self.start()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._pipes):
            writer.transport.abort()
        self._pipes.clear()


def marked(kind: str, run: str) -> list[int]:
    """Pids of this run's servers ("actions" or "rasa"), found by the marker in their
    environment (never another helper's)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"{MARKER}={run}".encode() not in environ:
            continue
        text = [part.decode(errors="replace") for part in command]
        if kind == "actions" and "rasa_sdk" in text:
            found.append(int(entry.name))
        if kind == "rasa" and "run" in text and "--enable-api" in text:
            found.append(int(entry.name))
    return found


@dataclass
class Outcome:
    fault: str
    survived: bool
    detail: str


class Bench:
    def __init__(self, fake: Any, database_url: str, proxy: Proxy) -> None:
        self.fake, self.proxy = fake, proxy
        self.run = uuid.uuid4().hex
        url = make_url(database_url).set(host="127.0.0.1", port=proxy.port)
        self.env = {**os.environ, MARKER: self.run, "TELEGRAM_BOT_TOKEN": fake.token,
                    "TELEGRAM_API_BASE_URL": fake.base_url,
                    "DATABASE_URL": url.render_as_string(hide_password=False),
                    "RASA_PORT": str(free_port()), "ACTION_SERVER_PORT": str(free_port()),
                    "PENDING_RETRY_SECONDS": "2", "OUTBOX_RETRY_SECONDS": "1",
                    "RASA_TIMEOUT_SECONDS": "20",
                    "SPOOL_FILE": str(ROOT / "var" / f"bench-spool-{self.run}.jsonl")}
        self.env.pop("REDIS_URL", None)
        self.supervisor: asyncio.subprocess.Process | None = None
        self.user = 880_000
        self.answer = ""  # the start of the answer to QUESTION, once seen
        self._down: asyncio.Future[None] | None = None

    async def start(self) -> None:
        mark = len(self.fake.calls)
        log = (ROOT / "var" / "log").resolve()
        log.mkdir(parents=True, exist_ok=True)
        self.supervisor = await asyncio.create_subprocess_exec(
            str(APP_PYTHON), "-m", "ops.supervisor", cwd=ROOT, env=self.env,
            stdout=(log / "bench-supervisor.log").open("ab"), stderr=asyncio.subprocess.STDOUT)
        await self.fake.wait_for("getUpdates", after=mark, timeout=READY_TIMEOUT)

    async def stop(self) -> None:
        if self.supervisor is not None and self.supervisor.returncode is None:
            self.supervisor.send_signal(signal.SIGTERM)
            await self.supervisor.wait()
        self.supervisor = None

    def texts(self, user: int, after: int) -> list[str]:
        return [c.params["text"] for c in self.fake.calls[after:]
                if c.method == "sendMessage" and c.ok and c.params.get("chat_id") == user]

    async def ask(self, text: str, expect: str, *, user: int | None = None,
                  timeout: float = ANSWER_TIMEOUT) -> tuple[bool, str, int]:
        """Send `text`; whether the answer containing `expect` came exactly once (and what
        else the user got)."""
        if user is None:
            self.user += 1
            user = self.user
        mark = len(self.fake.calls)
        self.fake.push_update(updates.text_update(text, user_id=user))
        try:
            await self.fake.wait_for("sendMessage", lambda p: p.get("chat_id") == user
                                     and expect in p["text"]
                                     and not p["text"].startswith(NOT_ANSWERS), after=mark,
                                     timeout=timeout)
        except TimeoutError:
            got = self.texts(user, mark)
            return False, f"no answer within {timeout:.0f} s; got {[t[:40] for t in got]}", user
        await asyncio.sleep(SETTLE)  # watching for a duplicate
        got = self.texts(user, mark)
        answers = [t for t in got if expect in t and not t.startswith(NOT_ANSWERS)]
        if text == QUESTION and not self.answer:
            self.answer = answers[0][:40]  # later faults expect this answer
        others = [t[:40] for t in got if t not in answers]
        detail = f"answered {len(answers)} time(s)" + (f"; also {others}" if others else "")
        return len(answers) == 1, detail, user

    async def fault(self, name: str, inject: Callable[[], Awaitable[None]],
                    text: str = QUESTION, expect: str = "") -> Outcome:
        print(f"--> {name}", flush=True)
        await inject()
        survived, detail, _ = await self.ask(text, expect or self.answer)
        print(f"    {'survived' if survived else 'FAILED'}: {detail}", flush=True)
        return Outcome(name, survived, detail)

    def telegram_fails(self, code: int, times: int, retry_after: int | None = None) -> Callable[
            [], Awaitable[None]]:
        async def inject() -> None:
            user = self.user + 1  # the next question's user
            self.fake.fail_next("sendMessage", error_code=code, times=times,
                                retry_after=retry_after,
                                description="Too Many Requests" if code == 429 else "Bad Gateway",
                                when=lambda p: p.get("chat_id") == user
                                and not p["text"].startswith(NOT_ANSWERS))
        return inject

    def kill(self, kind: str) -> Callable[[], Awaitable[None]]:
        async def inject() -> None:
            pids = marked(kind, self.run)
            if not pids:
                raise RuntimeError(f"no {kind} process of this run found")
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
        return inject

    async def database_down(self) -> None:
        self._down = asyncio.ensure_future(self.proxy.refuse(20.0))
        await asyncio.sleep(0.5)  # the proxy has closed before the question goes

    async def restart_mid_form(self) -> Outcome:
        name = "the stack restarts in the middle of a form"
        print(f"--> {name}", flush=True)
        started, detail, user = await self.ask(FORM_START, ROLE_QUESTION)
        if not started:
            return Outcome(name, False, f"the form did not start: {detail}")
        await self.stop()
        await self.start()
        survived, detail, _ = await self.ask(FORM_ANSWER, AMBITION_QUESTION, user=user,
                                             timeout=READY_TIMEOUT)
        print(f"    {'survived' if survived else 'FAILED'}: {detail}", flush=True)
        return Outcome(name, survived, detail)


async def main_async(database_url: str) -> int:
    url = urlsplit(database_url)
    proxy = Proxy(url.hostname or "127.0.0.1", url.port or 5432)
    await proxy.start()
    outcomes: list[Outcome] = []
    async with fake_api.FakeBotAPI() as fake:
        bench = Bench(fake, database_url, proxy)
        try:
            print("==> starting make run (ops.supervisor) against the stand-in Bot API; the "
                  "first Rasa load takes a minute or two", flush=True)
            await bench.start()
            ready, detail, _ = await bench.ask(QUESTION, "", timeout=READY_TIMEOUT)
            if not ready:
                print(f"the stack did not answer: {detail}")
                return 1
            outcomes.append(await bench.fault("Telegram answers 502 three times to a reply",
                                              bench.telegram_fails(502, 3)))
            outcomes.append(await bench.fault(
                "Telegram answers 429 (retry_after 1 s) five times in a row to a reply",
                bench.telegram_fails(429, 5, retry_after=1)))
            outcomes.append(await bench.fault("the action server is killed (SIGKILL)",
                                              bench.kill("actions")))
            outcomes.append(await bench.fault("the Rasa server is killed (SIGKILL)",
                                              bench.kill("rasa")))
            outcomes.append(await bench.fault("the database refuses connections for 20 s",
                                              bench.database_down))
            outcomes.append(await bench.restart_mid_form())
        finally:
            await bench.stop()
            await proxy.stop()
    log = ROOT / "var" / "log" / "bench-supervisor.log"
    lines = [line for line in log.read_text(errors="replace").splitlines()
             if "stopped (exit code" in line or "restarted (pid" in line] if log.exists() else []
    print("\nthe supervisor said:\n" + "\n".join(f"  {line}" for line in lines[-6:]))
    print(f"\n{sum(o.survived for o in outcomes)} of {len(outcomes)} faults survived")
    for outcome in outcomes:
        print(f"| {outcome.fault} | {'survived' if outcome.survived else 'FAILED'}: "
              f"{outcome.detail} |")
    return 0 if all(o.survived for o in outcomes) else 1


def main() -> int:
    database_url = os.environ.get("BENCH_DATABASE_URL")
    if not database_url or not database_url.startswith("postgresql"):
        print("make bench-faults needs a PostgreSQL database it may empty: set "
              "BENCH_DATABASE_URL", file=sys.stderr)
        return 2
    fixtures.reset_postgres(database_url)
    fixtures.seed(database_url)
    return asyncio.run(main_async(database_url))


if __name__ == "__main__":
    sys.exit(main())
