"""A front for the Rasa server: it loads a new model without the assistant pausing.

Rasa 3.6 loads a model for PUT /model inside its event loop (rasa/server.py `load_model` awaits
`_load_agent`, whose `Agent.load_model` is synchronous), so it answers nothing until the load is
over: every request waits, none fails, and here that is about 25 s, most of it
CRFEntityExtractor.load refitting its CRF from the stored training set. Longer than the bot's
patience (RASA_PATIENCE_SECONDS), so users would get apologies.

RasaFront listens where the bot expects Rasa and forwards each request to the current Rasa
server. PUT /model {"model_file": ...} instead starts a second Rasa server with that model on a
free loopback port (`launch`), switches new requests to it once it answers GET /status, lets the
requests already sent to the old one finish there, then stops the old one. It answers 204 like
Rasa, with the header X-Model-Swap: beside. Both servers share the action server and the SQL
tracker store; a chat's next message only comes after its previous reply (the bot handles a
chat's messages in order), and with REDIS_URL they share the lock store too.

    front = RasaFront(port=5005, current=RasaProcess(stack), launch=launcher(...),
                      token=stack.rasa_token)
    front.start()   # in a thread of its own; front.stop() stops it and the current server

The front forwards only what the assistant uses (`allowed`: the REST webhook, a conversation's
tracker and its events, the status and parsing of the model in service, GET /) and answers 403
to the rest of Rasa's HTTP API (training, executing actions, injecting intents, the domain).
Rasa runs with an auth token (ops/stack.py); the front adds it to what it forwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode

import httpx
import tornado.web
from tornado.httpserver import HTTPServer
from tornado.iostream import StreamClosedError
from tornado.netutil import bind_sockets

from ops.ports import HOST
from ops.stack import Stack, StackError

SWAP_HEADER = "X-Model-Swap"
DRAIN_TIMEOUT = 120.0  # longest a request may still run on the old server before it stops
STANDBY_NICE = 10  # CPU priority of a server while it loads (0 is normal, 19 lowest)
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length",
              "content-encoding", "host", "upgrade", "te", "trailer", "proxy-connection"}
_CONVERSATION = r"/conversations/[^/]+/tracker"
ALLOWED = (  # (methods, path): what the bot, retraining and health checks use
    (("GET", "HEAD"), re.compile(r"/")),
    (("GET",), re.compile(r"/status")),
    (("POST",), re.compile(r"/webhooks/rest/webhook")),
    (("POST",), re.compile(r"/model/parse")),
    (("GET",), re.compile(_CONVERSATION)),
    (("PUT", "POST"), re.compile(_CONVERSATION + r"/events")),
    (("PUT",), re.compile(r"/model")),  # the front loads it beside the one in service
)


def allowed(method: str, path: str) -> bool:
    """Whether the front forwards (or handles) this request."""
    return any(method in methods and pattern.fullmatch(path) for methods, pattern in ALLOWED)


def with_token(query: str, token: str | None) -> str:
    """The query string to forward: any token the caller sent replaced by the front's."""
    if token is None:
        return query
    kept = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "token"]
    return urlencode([*kept, ("token", token)])


class Backend(Protocol):
    """A running Rasa server."""

    @property
    def url(self) -> str: ...

    def stop(self) -> None: ...


@dataclass
class RasaProcess:
    """The Rasa server of a Stack as a Backend (stopping it leaves the action server)."""

    stack: Stack

    @property
    def url(self) -> str:
        return self.stack.rasa_url

    def stop(self) -> None:
        if "rasa" in self.stack.processes:
            self.stack.stop_server("rasa")


def launcher(*, action_port: int, env: Mapping[str, str], log_dir: Path,
             free_port: Callable[[], int]) -> Callable[[Path], Backend]:
    """Start Rasa servers like `make run` does (same action server, endpoints and
    environment), each on a free port with its own log folder, ready when returned."""
    count = 0

    def launch(model_file: Path) -> Backend:
        nonlocal count
        count += 1
        stack = Stack(rasa_port=free_port(), action_port=action_port, model=model_file,
                      log_dir=log_dir / f"rasa-{count}", env=dict(env))
        try:
            stack.start_server("rasa")
            group = stack.processes["rasa"].pid  # its own session: the group is its pid
            _renice(group, STANDBY_NICE)  # the server in service keeps the CPU meanwhile
            stack.wait_ready()
            _renice(group, os.getpriority(os.PRIO_PROCESS, 0))
        except BaseException:
            stack.stop()
            raise
        return RasaProcess(stack)
    return launch


def _renice(group: int, niceness: int) -> None:
    """Set every thread of a process group's niceness; raising it back needs privileges a
    deployment may not have, so that is best effort."""
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PGRP, group, niceness)


@dataclass
class RasaFront:
    """Listens on `port` and forwards to `current`; PUT /model swaps in a server `launch`
    starts. Owns its servers: stop() stops the current one too."""

    port: int
    current: Backend
    launch: Callable[[Path], Backend]
    host: str = HOST
    token: str | None = None  # Rasa's --auth-token, added to what is forwarded
    swaps: int = 0
    _inflight: dict[int, int] = field(default_factory=dict)
    _idle: dict[int, asyncio.Event] = field(default_factory=dict)
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _swap_lock: asyncio.Lock = field(init=False)
    _client: httpx.AsyncClient = field(init=False)
    _server: HTTPServer = field(init=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        """Listen (raises OSError if the port is taken) and serve from a thread of its own."""
        sockets = bind_sockets(self.port, address=self.host)
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, args=(sockets, ready),
                                        name="rasa-front", daemon=True)
        self._thread.start()
        ready.wait()

    def _serve(self, sockets: list[Any], ready: threading.Event) -> None:
        assert self._loop is not None
        asyncio.set_event_loop(self._loop)
        self._swap_lock = asyncio.Lock()
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(3600.0, connect=10.0))
        app = tornado.web.Application([(r"/.*", _Relay, {"front": self})])
        self._server = HTTPServer(app, xheaders=False)
        self._server.add_sockets(sockets)
        ready.set()
        self._loop.run_forever()

    def stop(self, *, backend: bool = True) -> None:
        """Stop listening, then (by default) the current Rasa server."""
        if self._loop and self._thread:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=30)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)
            self._loop.close()
            self._loop = self._thread = None
        if backend:
            self.current.stop()

    async def _shutdown(self) -> None:
        self._server.stop()
        await self._server.close_all_connections()
        await self._client.aclose()

    # Requests in flight, per backend, so the old one stops only once they are answered.
    def enter(self, backend: Backend) -> None:
        self._inflight[id(backend)] = self._inflight.get(id(backend), 0) + 1
        self._idle.setdefault(id(backend), asyncio.Event()).clear()

    def leave(self, backend: Backend) -> None:
        self._inflight[id(backend)] -= 1
        if self._inflight[id(backend)] == 0:
            self._idle[id(backend)].set()

    async def drained(self, backend: Backend) -> None:
        if self._inflight.get(id(backend), 0):
            await asyncio.wait_for(self._idle[id(backend)].wait(), DRAIN_TIMEOUT)
        self._inflight.pop(id(backend), None)
        self._idle.pop(id(backend), None)

    async def swap(self, model_file: Path) -> None:
        """Start `model_file` beside the current server, switch, drain and stop the old one."""
        async with self._swap_lock:
            loop = asyncio.get_running_loop()
            new = await loop.run_in_executor(None, self.launch, model_file)
            old, self.current = self.current, new
            self.swaps += 1
            # a request stuck for minutes: stop the old server anyway
            with contextlib.suppress(asyncio.TimeoutError):
                await self.drained(old)
            await loop.run_in_executor(None, old.stop)


class _Relay(tornado.web.RequestHandler):
    SUPPORTED_METHODS = ("GET", "HEAD", "POST", "DELETE", "PATCH", "PUT", "OPTIONS")

    def initialize(self, front: RasaFront) -> None:
        self.front = front

    async def get(self) -> None:
        await self.relay()

    head = post = delete = patch = options = get

    async def prepare(self) -> None:
        if not allowed(self.request.method or "", self.request.path):
            self.error(403, "Forbidden", "The front forwards only what the assistant uses.")

    async def put(self) -> None:
        if self.request.path.rstrip("/") == "/model":
            await self.load_model()
        else:
            await self.relay()

    async def relay(self) -> None:
        backend = self.front.current
        headers = {k: v for k, v in self.request.headers.get_all() if k.lower() not in HOP_BY_HOP}
        self.front.enter(backend)
        try:
            query = with_token(self.request.query, self.front.token)
            response = await self.front._client.request(
                self.request.method or "GET",
                backend.url + self.request.path + (f"?{query}" if query else ""),
                content=self.request.body or None, headers=headers)
        except httpx.HTTPError as error:
            self.error(502, "BadGateway", f"Rasa did not answer: {type(error).__name__}")
            return
        finally:
            self.front.leave(backend)
        self.set_status(response.status_code, response.reason_phrase or None)
        seen = set()
        for key, value in response.headers.multi_items():
            if key.lower() not in HOP_BY_HOP:
                (self.add_header if key.lower() in seen else self.set_header)(key, value)
                seen.add(key.lower())
        if response.status_code not in (204, 304) and self.request.method != "HEAD":
            self.write(response.content)
        # the client may have stopped waiting (the bot has its own timeout)
        with contextlib.suppress(StreamClosedError):
            await self.finish()

    async def load_model(self) -> None:
        try:
            model_file = Path(str(json.loads(self.request.body or b"{}")["model_file"]))
        except (ValueError, KeyError, TypeError):
            self.error(400, "BadRequest", "No path to model file defined in request_body.")
            return
        if not model_file.is_file():
            self.error(400, "BadRequest", f"Agent with name '{model_file}' could not be loaded.")
            return
        try:
            await self.front.swap(model_file)
        except (StackError, OSError) as error:
            self.error(500, "LoadingError", f"The new model did not start: {error}")
            return
        self.set_status(204)
        self.set_header(SWAP_HEADER, "beside")
        await self.finish()

    def error(self, code: int, reason: str, message: str) -> None:
        self.set_status(code)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"status": "failure", "reason": reason, "message": message,
                                "code": code}))
