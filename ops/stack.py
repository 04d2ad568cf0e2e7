"""The Rasa server and the action server as child processes, on loopback.

    with Stack(rasa_port=..., action_port=..., model=...) as stack:   # started and ready
        ...                                                           # stopped on leaving

`make run` (ops/supervisor.py) and the tests start the servers this way. If the process that
started them dies, the kernel stops them too (PR_SET_PDEATHSIG), so nothing is left running.
Server logs go to the stack's log folder (var/log/ for `make run`).

Rasa reads the endpoints file rendered from endpoints.yml (the documented template) into
var/endpoints.yml: conversations in the SQL tracker store at TRACKER_STORE_URL (derived from
DATABASE_URL), and with REDIS_URL a Redis lock store for several Rasa replicas. Secrets stay in
the environment of the Rasa process (Rasa substitutes ${VARIABLES}), never in the file.

Rasa's HTTP API needs a token (`--auth-token`): RASA_AUTH_TOKEN, or one generated for the stack
(kept in `env`, so servers started beside it share it). Its REST webhook and GET / need none;
everything else takes `?token=` (`rasa_params`). The action server listens on 127.0.0.1 unless
ACTION_SERVER_LISTEN says otherwise (`python -m actions`).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx
from sqlalchemy.engine import make_url

from npq.settings import Settings
from ops.model import model_path
from ops.paths import APP_PYTHON, RASA_SERVE, ROOT
from ops.ports import HOST

READY_TIMEOUT = 300.0  # loading TensorFlow and the model takes a while on two cores
PR_SET_PDEATHSIG = 1


class StackError(RuntimeError):
    """The stack could not start; the message says why and what to do."""


LOCK_STORE_PASSWORD = "NPQ_LOCK_STORE_PASSWORD"
RASA_AUTH_TOKEN = "RASA_AUTH_TOKEN"


def lock_store_yaml(redis_url: str) -> str:
    """Rasa's Redis lock store for REDIS_URL (redis://[:password@]host[:port][/db]; rediss://
    for TLS). The password is left to ${NPQ_LOCK_STORE_PASSWORD}."""
    url = urlsplit(redis_url)
    if url.scheme not in ("redis", "rediss") or not url.hostname:
        raise StackError(f"REDIS_URL must look like redis://host:6379/0, not {url.scheme}://...")
    db = url.path.strip("/") or "0"
    lines = ["lock_store:", "  type: redis", f"  url: {url.hostname}",
             f"  port: {url.port or 6379}", f"  db: {int(db)}", "  key_prefix: npq"]
    if url.scheme == "rediss":
        lines.append("  use_ssl: true")
    if url.username:
        lines.append(f"  username: {unquote(url.username)}")
    if url.password:
        lines.append(f"  password: ${{{LOCK_STORE_PASSWORD}}}")
    return "\n".join(lines) + "\n"


def render_endpoints(settings: Settings, template: Path | None = None) -> str:
    """The effective endpoints file: the template, plus the lock store when Redis is set."""
    text = (template or ROOT / "endpoints.yml").read_text()
    if settings.redis_url:
        text = text.rstrip("\n") + "\n" + lock_store_yaml(settings.redis_url)
    return text


def rasa_environment(settings: Settings) -> dict[str, str]:
    """The variables the endpoints file names, for the Rasa process only."""
    env = {"TRACKER_STORE_URL": settings.effective_tracker_store_url}
    password = urlsplit(settings.redis_url).password if settings.redis_url else None
    if password:
        env[LOCK_STORE_PASSWORD] = unquote(password)
    return env


def prepare_tracker_store(url: str) -> None:
    """Several Rasa servers write one SQLite tracker file: in WAL mode (a setting kept in the
    file) a server reading a conversation does not wait for another's write, and writes, a few
    rows a turn, queue for each other well within SQLite's busy timeout. Nothing to do for a
    server database (PostgreSQL)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    path = ROOT / str(parsed.database)  # relative to where Rasa runs, unless absolute
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(path, timeout=30.0)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")


def die_with_parent() -> None:
    """In the child, before exec: ask the kernel to SIGTERM us if our parent dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def check_port_free(port: int, what: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                raise
            raise StackError(
                f"Port {port} on {HOST}, needed for the {what}, is already in use. Is another "
                "`make run` still running? Stop it, or pick free ports, e.g. "
                "RASA_PORT=5015 ACTION_SERVER_PORT=5065 make run"
            ) from None


@dataclass
class Stack:
    """The Rasa server and the action server, as child processes."""

    rasa_port: int = 5005
    action_port: int = 5055
    model: Path | None = None
    log_dir: Path = ROOT / "var" / "log"
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    endpoints_file: Path | None = None  # default: endpoints.yml in log_dir

    def __post_init__(self) -> None:
        if not self.env.get(RASA_AUTH_TOKEN):  # a token for this run, shared by its servers
            self.env = {**self.env, RASA_AUTH_TOKEN: secrets.token_hex(32)}

    @property
    def rasa_token(self) -> str:
        return self.env[RASA_AUTH_TOKEN]

    @property
    def rasa_params(self) -> dict[str, str]:
        """Query parameters for Rasa's HTTP API (all but the webhook and GET / need them)."""
        return {"token": self.rasa_token}

    @property
    def effective_endpoints(self) -> Path:
        return self.endpoints_file or self.log_dir / "endpoints.yml"

    @property
    def rasa_url(self) -> str:
        return f"http://{HOST}:{self.rasa_port}"

    @property
    def action_url(self) -> str:
        return f"http://{HOST}:{self.action_port}/webhook"

    def start(self) -> None:
        model = self.model or model_path()
        if not model.exists():
            raise StackError(f"No trained model at {model}: run `make model` first.")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.start_server("actions")
        self.start_server("rasa")

    def _environment(self) -> dict[str, str]:
        return {**self.env, "ACTION_SERVER_URL": self.action_url, "SANIC_HOST": HOST,
                "ACTION_SERVER_SANIC_WORKERS": "1", "SANIC_WORKERS": "1"}

    def start_server(self, name: str) -> None:
        """Start one server ("actions" or "rasa"); `wait_ready()` waits for it. Call it from a
        long-lived thread: the kernel stops the child when the thread that started it ends."""
        env = self._environment()
        if name == "actions":
            check_port_free(self.action_port, "action server")
            self._spawn("actions", [str(APP_PYTHON), "-m", "actions",
                                    "--port", str(self.action_port)], env)
            return
        check_port_free(self.rasa_port, "Rasa server")
        settings = Settings.from_env(env)
        self.effective_endpoints.parent.mkdir(parents=True, exist_ok=True)
        self.effective_endpoints.write_text(render_endpoints(settings))
        prepare_tracker_store(settings.effective_tracker_store_url)
        self._spawn("rasa", [*RASA_SERVE, "run", "--model", str(self.model or model_path()),
                             "--enable-api",
                             # one argument: a token starting with "-" is not an option
                             f"--auth-token={self.rasa_token}",
                             "--interface", HOST, "--port", str(self.rasa_port),
                             "--endpoints", str(self.effective_endpoints),
                             "--credentials", "credentials.yml"],
                    {**env, **rasa_environment(settings)})

    def stop_server(self, name: str, grace: float = 15.0) -> None:
        """Stop one server (tests: the action server going down mid-conversation)."""
        process = self.processes.pop(name)
        self.terminate([process], grace)

    def _spawn(self, name: str, command: list[str], env: Mapping[str, str]) -> None:
        log = (self.log_dir / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            command, cwd=ROOT, env=dict(env), stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent,
        )
        log.close()

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Return once the servers answer (Rasa with its model loaded); fail fast if one dies."""
        checks = {name: url for name, url in (
            ("actions", f"http://{HOST}:{self.action_port}/health"),
            ("rasa", f"{self.rasa_url}/status")) if name in self.processes}
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0, params=self.rasa_params) as client:
            for name, url in checks.items():
                while not self._answers(client, url):
                    self.raise_if_exited()
                    if time.monotonic() > deadline:
                        raise StackError(f"The {name} server did not start within {timeout:.0f} s; "
                                         f"see {self.log_dir / (name + '.log')}")
                    time.sleep(0.5)  # readiness probe interval, not synchronisation

    @staticmethod
    def _answers(client: httpx.Client, url: str) -> bool:
        try:
            return client.get(url).status_code == 200
        except httpx.TransportError:
            return False

    def raise_if_exited(self) -> None:
        for name, process in list(self.processes.items()):  # a swap may stop one meanwhile
            if process.poll() is not None:
                raise StackError(f"The {name} server stopped (exit code {process.returncode}); "
                                 f"see {self.log_dir / (name + '.log')}")

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM every process group we started, then SIGKILL what is left after `grace`."""
        self.terminate(list(self.processes.values()), grace)
        self.processes.clear()

    @staticmethod
    def terminate(processes: list[subprocess.Popen[bytes]], grace: float) -> None:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def __enter__(self) -> Stack:
        try:
            self.start()
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
