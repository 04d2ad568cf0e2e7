"""A front for the Rasa servers: several of them share the work, a conversation's turns run one
at a time on one of them, a queue instead of overload, and a new model without a pause.

Rasa serves a turn on one core (one Sanic worker, one event loop), so `make run` starts
RASA_SERVERS of them and RasaFront listens where the bot expects Rasa:

- **Affinity.** A request that names a conversation (the REST webhook's `sender`, the
  `/conversations/{id}/...` paths) waits for that conversation's previous request to finish (a
  lock per sender, first come first served, held in the front), then goes to the server a
  stable hash of the sender picks. Rasa's default lock store is in one process's memory, so it
  cannot keep two servers from working on one conversation at once: the front does. All servers
  share the SQL tracker store (with SQLite, in WAL mode: ops/stack.py). With REDIS_URL the
  servers share Rasa's Redis lock store too, and the front sends a turn to the least busy server
  instead (`affinity=False`).
- **Admission.** Each server works on at most RASA_CONCURRENCY requests that change a
  conversation (every method but GET and HEAD) at once; the others wait in the front, in
  arrival order. A Rasa server given everything at once interleaves all of it on its one event
  loop, so every answer comes late, clients time out and retry, and the work is done twice.
  A request whose client hangs up while it waits here is dropped, never sent to Rasa.
- **Status.** GET /front/status: the servers in service and still starting, the swaps so far,
  the turns running and queued, the recent time per turn.
- **Expected wait.** GET /front/wait?sender=ID answers (from the front, without Rasa) how long
  a turn of that sender sent now would take: {"seconds": s, "ahead": n}, from the queue in
  front of its server and the recent time per turn. The bot tells the user their answer is
  coming when that is long (bot/acknowledge.py).
- **Swap.** Rasa 3.6 loads a model for PUT /model inside its event loop, answering nothing for
  about 25 s. PUT /model {"model_file": ...} here instead starts as many servers as are in
  service with that model, beside them (`launch`, on free loopback ports); once every one of
  them answers GET /status the whole set is switched at once (no turn is ever answered by a
  half-swapped set), requests already sent to the old servers finish there, then they stop.
  It answers 204 like Rasa, with the header X-Model-Swap: beside. A server that does not start
  stops the others started with it and leaves the old set serving.

    front = RasaFront(port=5005, servers=[RasaProcess(stack)], launch=launcher(...),
                      model=model_file)
    front.start()           # in a thread of its own
    front.grow(2).result()  # a second server with the same model, added once ready
    front.stop()            # stops listening, then every server

The front forwards only what the assistant uses (`allowed`: the REST webhook, a conversation's
tracker and its events, starting a new session, the status and parsing of the model in service,
GET /) and answers 403 to the rest of Rasa's HTTP API (training, executing other actions,
injecting intents, the domain). Rasa runs with an auth token (ops/stack.py); the front adds it
to what it forwards (`token`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import os
import re
import threading
import time
import zlib
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote, urlencode

import httpx
import tornado.web
from tornado.httpserver import HTTPServer
from tornado.iostream import StreamClosedError
from tornado.netutil import bind_sockets

from ops.ports import HOST
from ops.stack import Stack, StackError

SWAP_HEADER = "X-Model-Swap"
WAIT_PATH = "/front/wait"
STATUS_PATH = "/front/status"
DRAIN_TIMEOUT = 120.0  # longest a request may still run on an old server before it stops
STANDBY_NICE = 10  # CPU priority of a server while it loads (0 is normal, 19 lowest)
DEFAULT_CONCURRENCY = 2  # turns a server works on at once: one on its CPU, one awaiting actions
FIRST_TURN_SECONDS = 0.5  # the time per turn assumed until one has been measured
SMOOTHING = 0.2  # weight of the latest turn in the running time per turn
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length",
              "content-encoding", "host", "upgrade", "te", "trailer", "proxy-connection"}
UNGATED = ("GET", "HEAD", "OPTIONS")
_CONVERSATION = r"/conversations/[^/]+"
ALLOWED = (  # (methods, path): what the bot, retraining and health checks use
    (("GET", "HEAD"), re.compile(r"/")),
    (("GET",), re.compile(r"/status")),
    (("GET",), re.compile(STATUS_PATH + "|" + WAIT_PATH)),  # answered by the front itself
    (("POST",), re.compile(r"/webhooks/rest/webhook")),
    (("POST",), re.compile(r"/model/parse")),
    (("GET",), re.compile(_CONVERSATION + r"/tracker")),
    (("PUT", "POST"), re.compile(_CONVERSATION + r"/tracker/events")),
    (("PUT",), re.compile(r"/model")),  # the front loads it beside the one in service
)
SESSION_START = re.compile(_CONVERSATION + r"/execute")  # action_session_start only


def allowed(method: str, path: str, body: bytes = b"") -> bool:
    """Whether the front forwards (or handles) this request: the paths in ALLOWED, and the one
    action the bot runs itself (a new session for a long conversation)."""
    if method == "POST" and SESSION_START.fullmatch(path):
        try:
            return bool(json.loads(body or b"{}").get("name") == "action_session_start")
        except (ValueError, AttributeError):
            return False
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


class Launcher:
    """Starts Rasa servers like `make run` does (same action server, endpoints and
    environment), each on a free port with its own log folder, ready when returned.
    `abort()` stops those still loading (the front is stopping)."""

    def __init__(self, *, action_port: int, env: Mapping[str, str], log_dir: Path,
                 free_port: Callable[[], int]) -> None:
        self.action_port, self.env, self.log_dir = action_port, dict(env), log_dir
        self.free_port = free_port
        self.count = 0
        self.loading: list[Stack] = []
        self._lock = threading.Lock()

    def __call__(self, model_file: Path) -> Backend:
        with self._lock:
            self.count += 1
            stack = Stack(rasa_port=self.free_port(), action_port=self.action_port,
                          model=model_file, log_dir=self.log_dir / f"rasa-{self.count}",
                          env=dict(self.env))
            self.loading.append(stack)
        try:
            stack.start_server("rasa")
            group = stack.processes["rasa"].pid  # its own session: the group is its pid
            _renice(group, STANDBY_NICE)  # the servers in service keep the CPU meanwhile
            stack.wait_ready()
            _renice(group, os.getpriority(os.PRIO_PROCESS, 0))
        except BaseException:
            stack.stop()
            raise
        finally:
            with self._lock:
                self.loading.remove(stack)
        return RasaProcess(stack)

    def abort(self) -> None:
        with self._lock:
            loading = list(self.loading)
        for stack in loading:  # its wait_ready() then fails: the server stopped
            Stack.terminate(list(stack.processes.values()), grace=5.0)


def launcher(*, action_port: int, env: Mapping[str, str], log_dir: Path,
             free_port: Callable[[], int]) -> Launcher:
    """A Launcher (kept for the callers that name it so)."""
    return Launcher(action_port=action_port, env=env, log_dir=log_dir, free_port=free_port)


def _renice(group: int, niceness: int) -> None:
    """Set every thread of a process group's niceness; raising it back needs privileges a
    deployment may not have, so that is best effort."""
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PGRP, group, niceness)


def sender_of(method: str, path: str, body: bytes) -> str | None:
    """The conversation a Rasa API request is about: the REST webhook's `sender`, or the id in
    /conversations/{id}/...; None for the rest (status, parse, model)."""
    parts = path.split("/")
    if len(parts) > 2 and parts[1] == "conversations" and parts[2]:
        return unquote(parts[2])
    if method == "POST" and len(parts) == 4 and parts[1] == "webhooks" and parts[3] == "webhook":
        try:
            sender = json.loads(body or b"{}").get("sender")
        except (ValueError, AttributeError):
            return None
        return str(sender) if sender is not None else None
    return None


def slot_of(sender: str, servers: int) -> int:
    """The server a conversation goes to: the same one every time, in every process."""
    return zlib.crc32(sender.encode("utf-8")) % servers


class SenderLocks:
    """One request at a time per conversation, in arrival order; a lock is dropped once nobody
    holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    def depth(self, sender: str) -> int:
        """Requests of this conversation in the front (running or waiting)."""
        return self._users.get(sender, 0)

    @contextlib.asynccontextmanager
    async def hold(self, sender: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(sender, asyncio.Lock())
        self._users[sender] = self._users.get(sender, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[sender] -= 1
            if not self._users[sender]:
                del self._users[sender], self._locks[sender]


class Gate:
    """At most `slots` requests at once; the rest wait in arrival order (a freed slot is handed
    to the longest waiting, never taken by a newcomer)."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self.busy = 0
        self._waiting: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        return sum(1 for waiter in self._waiting if not waiter.done())

    async def enter(self) -> None:
        if self.busy < self.slots and not self.waiting:
            self.busy += 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.leave()  # handed a slot just as it was cancelled: pass it on
            else:
                with contextlib.suppress(ValueError):
                    self._waiting.remove(waiter)
            raise

    def leave(self) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot goes to it: busy stays the same
                return
        self.busy -= 1

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        await self.enter()
        try:
            yield
        finally:
            self.leave()


@dataclass
class RasaFront:
    """Listens on `port` and shares requests out among `servers` (all running `model`); PUT
    /model swaps in a set `launch` starts. Owns its servers: stop() stops them too."""

    port: int
    servers: list[Backend]
    launch: Callable[[Path], Backend]
    model: Path | None = None  # what the servers run: grow() starts more of it
    affinity: bool = True  # False when a shared (Redis) lock store coordinates the servers
    concurrency: int = DEFAULT_CONCURRENCY
    host: str = HOST
    token: str | None = None  # Rasa's --auth-token, added to what is forwarded
    swaps: int = 0
    turn_seconds: float = FIRST_TURN_SECONDS  # running mean of recent turns, admission to answer
    starting: int = 0  # servers grow() is still starting
    served: dict[str, int] = field(default_factory=dict)  # requests answered, per server URL
    gates: list[Gate] = field(default_factory=list)
    _inflight: dict[int, int] = field(default_factory=dict)
    _idle: dict[int, asyncio.Event] = field(default_factory=dict)
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _swap_lock: asyncio.Lock = field(init=False)
    _senders: SenderLocks = field(default_factory=SenderLocks)
    _client: httpx.AsyncClient = field(init=False)
    _server: HTTPServer = field(init=False)

    def __post_init__(self) -> None:
        if not self.servers:
            raise ValueError("a front needs at least one Rasa server")
        self.gates = [Gate(self.concurrency) for _ in self.servers]

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
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=64)
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(3600.0, connect=10.0),
                                         limits=limits)
        # no access log: while a server loads, the bot's readiness checks get 502s by design
        app = tornado.web.Application([(r"/.*", _Relay, {"front": self})],
                                      log_function=lambda handler: None)
        self._server = HTTPServer(app, xheaders=False)
        self._server.add_sockets(sockets)
        ready.set()
        self._loop.run_forever()

    def grow(self, count: int) -> concurrent.futures.Future[None]:
        """Start servers running `model` until there are `count`, each added once it answers
        (from any thread; the future fails if one does not start)."""
        assert self._loop is not None, "start() the front first"
        return asyncio.run_coroutine_threadsafe(self._grow(count), self._loop)

    async def _grow(self, count: int) -> None:
        async with self._swap_lock:  # a swap meanwhile would start the old model
            if self.model is None:
                raise StackError("the front does not know which model its servers run")
            loop = asyncio.get_running_loop()
            starting = {loop.run_in_executor(None, self.launch, self.model)
                        for _ in range(count - len(self.servers))}
            failure: BaseException | None = None
            while starting:
                self.starting = len(starting)
                done, starting = await asyncio.wait(starting,
                                                    return_when=asyncio.FIRST_COMPLETED)
                self.starting = len(starting)
                for started in done:
                    if started.exception() is not None:
                        failure = failure or started.exception()
                        continue
                    self.gates.append(Gate(self.concurrency))
                    self.servers = [*self.servers, started.result()]
            if failure is not None:
                raise failure

    def stop(self, *, backend: bool = True) -> None:
        """Stop listening, then (by default) every server (and those still loading)."""
        if backend and isinstance(self.launch, Launcher):
            self.launch.abort()
        if self._loop and self._thread:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=30)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)
            self._loop.close()
            self._loop = self._thread = None
        if backend:
            for server in self.servers:
                server.stop()

    async def _shutdown(self) -> None:
        self._server.stop()
        await self._server.close_all_connections()
        await self._client.aclose()

    # --- where a request goes --------------------------------------------------------------

    def slot_for(self, sender: str | None) -> int:
        if sender is not None and self.affinity:
            return slot_of(sender, len(self.servers))
        return min(range(len(self.servers)),  # the least busy, the first on a tie
                   key=lambda i: self.gates[i].busy + self.gates[i].waiting)

    def status(self) -> dict[str, Any]:
        """What GET /front/status answers: the servers in service and starting, the queue."""
        return {"servers": len(self.servers), "starting": self.starting, "swaps": self.swaps,
                "model": self.model.name if self.model else None,
                "running": sum(gate.busy for gate in self.gates),
                "queued": sum(gate.waiting for gate in self.gates),
                "turn_seconds": round(self.turn_seconds, 3)}

    def expected_wait(self, sender: str | None) -> tuple[float, int]:
        """(seconds, requests ahead) for a turn of `sender` sent now: the turns that must
        finish before it is admitted, shared among the server's slots, then its own."""
        gate = self.gates[self.slot_for(sender)]
        ahead = gate.waiting + max(0, gate.busy - gate.slots + 1)
        own = self._senders.depth(sender) if sender is not None else 0
        seconds = self.turn_seconds * (1 + own + ahead / gate.slots)
        return seconds, ahead + own

    @contextlib.asynccontextmanager
    async def admitted(self, sender: str | None, gated: bool,
                       on_admission: Callable[[], None]) -> AsyncIterator[Backend]:
        """Wait for the sender's previous request and a slot on its server; yields the server,
        of the set in service at admission."""
        async with contextlib.AsyncExitStack() as holding:
            if sender is not None:
                await holding.enter_async_context(self._senders.hold(sender))
            slot = self.slot_for(sender)
            if gated:
                await holding.enter_async_context(self.gates[slot].held())
            backend = self.servers[slot % len(self.servers)]
            on_admission()
            self._enter(backend)
            started = time.monotonic()
            try:
                yield backend
            finally:
                self._leave(backend)
                self.served[backend.url] = self.served.get(backend.url, 0) + 1
                if gated:
                    took = time.monotonic() - started
                    self.turn_seconds += SMOOTHING * (took - self.turn_seconds)

    # Requests in flight, per backend, so an old one stops only once they are answered.
    def _enter(self, backend: Backend) -> None:
        self._inflight[id(backend)] = self._inflight.get(id(backend), 0) + 1
        self._idle.setdefault(id(backend), asyncio.Event()).clear()

    def _leave(self, backend: Backend) -> None:
        self._inflight[id(backend)] -= 1
        if self._inflight[id(backend)] == 0:
            self._idle[id(backend)].set()

    async def _drained(self, backend: Backend) -> None:
        if self._inflight.get(id(backend), 0):
            with contextlib.suppress(asyncio.TimeoutError):  # stuck for minutes: stop anyway
                await asyncio.wait_for(self._idle[id(backend)].wait(), DRAIN_TIMEOUT)
        self._inflight.pop(id(backend), None)
        self._idle.pop(id(backend), None)

    # --- a new model ----------------------------------------------------------------------

    async def swap(self, model_file: Path) -> None:
        """Start a whole set with `model_file` beside the servers in service, switch to it at
        once, let the old servers finish what they have, then stop them."""
        async with self._swap_lock:
            loop = asyncio.get_running_loop()
            starting = [loop.run_in_executor(None, self.launch, model_file)
                        for _ in self.servers]
            results = await asyncio.gather(*starting, return_exceptions=True)
            new = [r for r in results if not isinstance(r, BaseException)]
            failed = [r for r in results if isinstance(r, BaseException)]
            if failed:
                await loop.run_in_executor(None, _stop_all, new)
                raise failed[0]
            old, self.servers = self.servers, new
            self.model = model_file
            self.swaps += 1
            await asyncio.gather(*(self._drained(server) for server in old))
            await loop.run_in_executor(None, _stop_all, old)


def _stop_all(servers: list[Backend]) -> None:
    for server in servers:
        server.stop()


class _Relay(tornado.web.RequestHandler):
    SUPPORTED_METHODS = ("GET", "HEAD", "POST", "DELETE", "PATCH", "PUT", "OPTIONS")

    def initialize(self, front: RasaFront) -> None:
        self.front = front
        self.gone = asyncio.Event()  # the client hung up

    def on_connection_close(self) -> None:
        self.gone.set()

    async def get(self) -> None:
        if self.request.path.rstrip("/") == WAIT_PATH:
            self.wait()
        elif self.request.path.rstrip("/") == STATUS_PATH:
            self.finish(self.front.status())
        else:
            await self.relay()

    head = post = delete = patch = options = get

    async def prepare(self) -> None:
        if not allowed(self.request.method or "", self.request.path, self.request.body):
            self.error(403, "Forbidden", "The front forwards only what the assistant uses.")

    async def put(self) -> None:
        if self.request.path.rstrip("/") == "/model":
            await self.load_model()
        else:
            await self.relay()

    def wait(self) -> None:
        sender = self.get_query_argument("sender", None)
        seconds, ahead = self.front.expected_wait(sender)
        self.finish({"seconds": round(seconds, 3), "ahead": ahead})

    async def relay(self) -> None:
        method = self.request.method or "GET"
        sender = sender_of(method, self.request.path, self.request.body)
        admitted = False

        def note() -> None:
            nonlocal admitted
            admitted = True

        forwarding = asyncio.ensure_future(self.forward(sender, method not in UNGATED, note))
        hung_up = asyncio.ensure_future(self.gone.wait())
        try:
            await asyncio.wait({forwarding, hung_up}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            hung_up.cancel()
        if not forwarding.done() and not admitted:
            forwarding.cancel()  # nobody waits for it any more: Rasa never sees it
            with contextlib.suppress(asyncio.CancelledError):
                await forwarding
            return
        try:
            response = await forwarding  # once sent to Rasa, a turn is seen through
        except httpx.HTTPError as error:
            self.error(502, "BadGateway", f"Rasa did not answer: {type(error).__name__}")
            return
        self.set_status(response.status_code, response.reason_phrase or None)
        seen = set()
        for key, value in response.headers.multi_items():
            if key.lower() not in HOP_BY_HOP:
                (self.add_header if key.lower() in seen else self.set_header)(key, value)
                seen.add(key.lower())
        if response.status_code not in (204, 304) and method != "HEAD":
            self.write(response.content)
        # the client may have stopped waiting (the bot has its own timeout)
        with contextlib.suppress(StreamClosedError):
            await self.finish()

    async def forward(self, sender: str | None, gated: bool,
                      on_admission: Callable[[], None]) -> httpx.Response:
        headers = {k: v for k, v in self.request.headers.get_all() if k.lower() not in HOP_BY_HOP}
        query = with_token(self.request.query, self.front.token)
        async with self.front.admitted(sender, gated, on_admission) as backend:
            return await self.front._client.request(
                self.request.method or "GET",
                backend.url + self.request.path + (f"?{query}" if query else ""),
                content=self.request.body or None, headers=headers)

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
        with contextlib.suppress(StreamClosedError):
            self.finish(json.dumps({"status": "failure", "reason": reason, "message": message,
                                    "code": code}))
