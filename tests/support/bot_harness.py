"""The Telegram front end in-process, on its real PTB HTTP path: the stand-in Bot API on
127.0.0.1, Rasa faked at the HTTP transport, a copy of the seeded SQLite database and a clock
the test sets.

    async with running_bot(database) as bot:
        call = await bot.say("Is there a hub near Keighley?")
        assert call.params["text"] == ...
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import shutil
import sqlite3
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.orm import Session

from bot.app import build_application
from bot.context import SERVICES, Services
from bot.rasa_client import RasaClient
from bot.retraining import Training
from npq.db import make_engine, make_session_factory
from npq.settings import Settings
from ops.paths import ROOT
from tests.support.fake_bot_api import ApiCall, FakeBotAPI
from tests.support.updates import DEFAULT_USER_ID, text_update

JSON = dict[str, Any]
HUB_REPLY: list[JSON] = [
    {"recipient_id": str(DEFAULT_USER_ID), "text": "The nearest hubs to Keighley: ...",
     "buttons": [{"title": "About NPQH", "payload": '/programme_info{"npq": "NPQH"}'}]}]
RASA_EVENTS = ("CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) "
               "NOT NULL, type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name "
               "VARCHAR(255), action_name VARCHAR(255), data TEXT)")  # Rasa's SQL tracker store
NEVER = 3600.0  # job intervals for tests that do not exercise the job
# A Monday morning in term, with NPQH cohorts closing in three days (seeded catalogue).
MONDAY_MORNING = dt.datetime(2027, 2, 8, 10, 0, tzinfo=dt.timezone.utc)


@dataclass
class FakeRasa:
    """Rasa's HTTP API (and the action server's health) at the transport seam."""

    reply: list[JSON] = field(default_factory=lambda: list(HUB_REPLY))
    answer: Callable[[str, str], list[JSON]] | None = None  # (sender, message) -> reply
    down: bool = False  # Rasa refuses connections
    # "error" (500) or "timeout" on the webhook; "late": the turn runs (its events are kept)
    # but the answer comes after the bot stopped waiting
    failing: str | None = None
    actions_down: bool = False  # the action server is down: Rasa answers [] to the webhook
    gate: asyncio.Event | None = None  # hold webhook answers until set
    gates: dict[str, asyncio.Event] = field(default_factory=dict)  # the same, per sender
    delay: float = 0.0  # seconds each answer takes (the flood benchmark)
    history: set[str] = field(default_factory=set)  # senders Rasa remembers
    # message -> the model's parse (intent, intent_ranking, entities): with it, the tracker's
    # latest_message is the parse of the sender's last message, as Rasa keeps it, and the turn's
    # events are stored in Rasa's SQL tracker store (`tracker_store_url`) as Rasa stores them
    parse: Callable[[str], JSON] | None = None
    state: JSON = field(default_factory=dict)  # the rest of the tracker: active_loop, slots
    tracker_store_url: str | None = None  # an SQLite file (running_bot sets it)
    latest: dict[str, JSON] = field(default_factory=dict)  # sender -> latest_message
    received: list[JSON] = field(default_factory=list)  # sender and message (metadata apart)
    keys: list[str | None] = field(default_factory=list)  # each message's npq_key metadata
    events: dict[str, list[JSON]] = field(default_factory=dict)  # sender -> the tracker's
    replaced: list[tuple[str, Any]] = field(default_factory=list)  # .../tracker/events
    executed: list[tuple[str, str]] = field(default_factory=list)  # (sender, action name)
    erased: asyncio.Event = field(default_factory=asyncio.Event)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)  # a webhook call came in
    expected_wait: float | None = None  # the front's GET /front/wait (None: no front, a 404)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        path = request.url.path
        if request.url.host == "actions.test":
            return httpx.Response(503 if self.actions_down else 200, json={"status": "ok"})
        if request.method == "GET" and path == "/front/wait":
            if self.expected_wait is None:
                return httpx.Response(404, json={"status": "failure"})
            return httpx.Response(200, json={"seconds": self.expected_wait, "ahead": 1})
        if request.method == "GET" and path == "/":
            return httpx.Response(200, text="Hello from Rasa: 3.6.21")
        if request.method == "GET" and path.endswith("/tracker"):
            sender = path.split("/")[2]
            latest = self.latest.get(sender) or ({"text": "hello", "intent": {"name": "greet"}}
                                                 if sender in self.history
                                                 else {"text": None, "intent": {}})
            events = ({} if request.url.params.get("include_events") == "NONE"
                      else {"events": self.events.get(sender, [])})
            return httpx.Response(200, json={"sender_id": sender, "latest_message": latest,
                                             **self.state, **events})
        if request.method == "POST" and path.endswith("/execute"):
            self.executed.append((path.split("/")[2], json.loads(request.content)["name"]))
            return httpx.Response(200, json={"tracker": {}, "messages": []})
        if path.endswith("/tracker/events"):  # PUT replaces, POST appends
            self.replaced.append((path, json.loads(request.content)))
            self.erased.set()
            return httpx.Response(200, json={})
        assert path == "/webhooks/rest/webhook", path
        body = json.loads(request.content)
        metadata = body.pop("metadata", None) or {}
        self.received.append(body)
        self.keys.append(metadata.get("npq_key"))
        self.arrived.set()
        if self.parse is not None:
            self.latest[body["sender"]] = {"text": body["message"], **self.parse(body["message"])}
            self.store_turn(body["sender"], body["message"], self.parse(body["message"]))
        if self.failing == "timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        if self.failing == "error":
            return httpx.Response(500, json={"status": "failure"})
        if self.gate is not None:
            await self.gate.wait()
        if body["sender"] in self.gates:
            await self.gates[body["sender"]].wait()
        if self.delay:
            await asyncio.sleep(self.delay)  # Rasa's time to answer, simulated
        if self.actions_down:
            return httpx.Response(200, json=[])
        reply = self.answer(body["sender"], body["message"]) if self.answer else self.reply
        self.events.setdefault(body["sender"], []).extend([
            {"event": "user", "text": body["message"], "metadata": metadata},
            *({"event": "bot", "text": r.get("text"),
               "data": {"buttons": r.get("buttons")} if r.get("buttons") else {}}
              for r in reply),
            {"event": "action", "name": "action_listen"}])
        if self.failing == "late":
            raise httpx.ReadTimeout("timed out (the turn finished later)", request=request)
        return httpx.Response(200, json=reply)

    def store_turn(self, sender: str, text: str, parse: JSON) -> None:
        """The events Rasa stores for a turn, in its `events` table: the user's message with its
        parse, then the form asking (or none) and the `pending` slot, as `state` says."""
        assert self.tracker_store_url, "running_bot sets tracker_store_url"
        loop = (self.state.get("active_loop") or {}).get("name")
        pending = (self.state.get("slots") or {}).get("pending")
        events = [("user", None, {"event": "user", "text": text,
                                  "parse_data": {"text": text, **parse}}),
                  ("active_loop", loop, {"event": "active_loop", "name": loop}),
                  ("slot", "pending", {"event": "slot", "name": "pending", "value": pending})]
        with sqlite3.connect(self.tracker_store_url.removeprefix("sqlite:///")) as db:
            db.execute(RASA_EVENTS)
            db.executemany("INSERT INTO events (sender_id, type_name, action_name, data) "
                           "VALUES (?, ?, ?, ?)",
                           [(sender, kind, name, json.dumps(data)) for kind, name, data in events])

    def client(self) -> RasaClient:
        return RasaClient("http://rasa.test", transport=httpx.MockTransport(self.handle),
                          action_server_url="http://actions.test/webhook")


@dataclass
class Clock:
    now: dt.datetime = MONDAY_MORNING

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass
class Harness:
    fake: FakeBotAPI
    rasa: FakeRasa
    clock: Clock
    database_url: str
    app: Any
    finished: set[int] = field(default_factory=set)  # update ids the application has handled
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def _watch(self) -> None:
        """Note every update once all its handlers have run (absence needs a moment to wait
        for: "the bot handled it and sent nothing")."""
        processor = self.app.update_processor
        process = processor.do_process_update

        async def watched(update: object, coroutine: Any) -> None:
            try:
                await process(update, coroutine)
            finally:
                if hasattr(update, "update_id"):
                    self.finished.add(update.update_id)
                    self._changed.set()
                    self._changed = asyncio.Event()

        processor.do_process_update = watched

    async def chat_idle(self, chat_id: int = DEFAULT_USER_ID, timeout: float = 30.0) -> None:
        """Wait until nothing holds the chat's lock (an update or the retry job answering it has
        finished, database writes included)."""
        async def take_turn() -> None:
            async with self.app.update_processor.locks.hold(chat_id):
                pass

        await asyncio.wait_for(take_turn(), timeout)

    def index(self, call: ApiCall) -> int:
        """The position of `call` (by identity: equal calls are common) in the fake's log."""
        return next(i for i, c in enumerate(self.fake.calls) if c is call)

    async def handled(self, update_id: int, timeout: float = 30.0) -> None:
        """Wait until the application has finished with `update_id`."""
        async def finished() -> None:
            while update_id not in self.finished:
                await self._changed.wait()

        await asyncio.wait_for(finished(), timeout)

    @property
    def services(self) -> Services:
        return self.app.bot_data[SERVICES]  # type: ignore[no-any-return]

    def sent(self, after: int = 0, chat_id: int | None = None) -> list[JSON]:
        return [c.params for c in self.fake.calls[after:] if c.method == "sendMessage"
                and (chat_id is None or c.params["chat_id"] == chat_id)]

    def mark(self) -> int:
        return len(self.fake.calls)

    async def say(self, text: str, **update: Any) -> ApiCall:
        """Send text as the default user; the first sendMessage after it."""
        mark = self.mark()
        self.fake.push_update(text_update(text, **update))
        return await self.fake.wait_for("sendMessage", after=mark)

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        engine = make_engine(self.database_url)
        try:
            with make_session_factory(engine)() as session, session.begin():
                yield session
        finally:
            engine.dispose()


def training_copy(folder: Path, **tools: Any) -> Training:
    """Staff tooling pointed at a copy of what Rasa reads (config.yml, domain.yml, nlu_data
    without reviewed.yml) in `folder`: tests never write the repository's training data.
    `tools` substitute Training's validate, retrain or rollback."""
    for name in ("config.yml", "domain.yml"):
        shutil.copyfile(ROOT / name, folder / name)
    shutil.copytree(ROOT / "nlu_data", folder / "nlu_data")
    (folder / "nlu_data" / "nlu" / "reviewed.yml").unlink(missing_ok=True)
    return Training(root=folder, **tools)


def settings_for(fake: FakeBotAPI, database_url: str, **overrides: Any) -> Settings:
    """Jobs idle unless asked; the spool file beside an SQLite database (or in a fresh
    temporary folder), never under the repository's var/."""
    folder = (Path(database_url.removeprefix("sqlite:///")).parent
              if database_url.startswith("sqlite:///") else Path(tempfile.mkdtemp()))
    base = Settings(database_url=database_url, telegram_bot_token=fake.token,
                    telegram_api_base_url=fake.base_url, pending_retry_seconds=NEVER,
                    outbox_retry_seconds=NEVER, reminder_check_seconds=NEVER, reminder_hour=0,
                    spool_file=str(folder / "spool.jsonl"))
    return replace(base, **overrides)


@contextlib.asynccontextmanager
async def running_bot(database_url: str, *, rasa: FakeRasa | None = None,
                      clock: Clock | None = None, fake: FakeBotAPI | None = None,
                      poll: bool = True, training: Training | None = None,
                      **overrides: Any) -> AsyncIterator[Harness]:
    """The application started (and polling, unless `poll` is False) against a stand-in;
    `training` points the staff tools at a copy of the training data (see training_copy)."""
    rasa = rasa or FakeRasa()
    clock = clock or Clock()
    async with contextlib.AsyncExitStack() as stack:
        if fake is None:
            fake = await stack.enter_async_context(FakeBotAPI())
        settings = settings_for(fake, database_url, **overrides)
        rasa.tracker_store_url = settings.effective_tracker_store_url
        app = build_application(settings,
                                rasa=rasa.client(), clock=clock, telegram_backoff_seconds=0.05,
                                training=training)
        harness = Harness(fake, rasa, clock, database_url, app)
        harness._watch()
        async with app:
            await app.start()
            if poll:
                await app.updater.start_polling(poll_interval=0.0, timeout=1)
            try:
                yield harness
            finally:
                if poll:
                    await app.updater.stop()
                await app.stop()
        await app.post_shutdown(app)
