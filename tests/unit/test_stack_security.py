"""Who can reach the servers: the action server listens on loopback wherever it is started
(`python -m actions`), and Rasa is started with an auth token for its HTTP API (ops/stack.py),
generated per run unless RASA_AUTH_TOKEN is set, shared by a promoted model's server and added
by the bot when it talks to Rasa directly."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from actions.__main__ import arguments
from bot.rasa_client import RasaClient
from ops.paths import APP_PYTHON, ROOT
from ops.ports import free_port
from ops.stack import RASA_AUTH_TOKEN, Stack

READY_WITHIN = 60.0


def commands(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """The command line each server would be started with."""
    started: dict[str, list[str]] = {}
    monkeypatch.setattr(stack, "_spawn", lambda name, command, env: started.update(
        {name: [*command, f"SANIC_HOST={env.get('SANIC_HOST')}"]}))
    stack.start_server("actions")
    stack.start_server("rasa")
    return started


def stack_in(folder: Path, **env: str) -> Stack:
    return Stack(rasa_port=free_port(), action_port=free_port(), model=folder / "m.tar.gz",
                 log_dir=folder, env={"PATH": os.environ.get("PATH", ""), **env})


def test_rasa_starts_with_a_token_for_each_run(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    one, two = stack_in(tmp_path), stack_in(tmp_path)
    started = commands(one, monkeypatch)
    rasa = started["rasa"]
    assert f"--auth-token={one.rasa_token}" in rasa
    assert len(one.rasa_token) >= 40 and one.rasa_token != two.rasa_token
    assert one.rasa_params == {"token": one.rasa_token}
    assert rasa[rasa.index("--interface") + 1] == "127.0.0.1"
    assert started["actions"][1:3] == ["-m", "actions"]  # loopback by default (below)
    assert started["actions"][-1] == "SANIC_HOST=127.0.0.1"
    assert one.rasa_token not in (tmp_path / "endpoints.yml").read_text()


def test_a_configured_token_is_used_and_shared_by_servers_started_beside(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stack = stack_in(tmp_path, **{RASA_AUTH_TOKEN: "from-the-settings"})
    assert stack.rasa_token == "from-the-settings"
    beside = Stack(rasa_port=free_port(), action_port=stack.action_port, env=stack.env,
                   log_dir=tmp_path)  # as ops.rasa_front.launcher starts a promoted model
    assert beside.rasa_token == "from-the-settings"
    generated = stack_in(tmp_path)
    assert Stack(env=generated.env, log_dir=tmp_path).rasa_token == generated.rasa_token


def test_the_action_server_entry_point_names_our_actions() -> None:
    assert arguments(["--port", "5055"]) == ["--actions", "actions", "--port", "5055"]
    assert arguments(["--actions", "other"]) == ["--actions", "other"]


def listening_on(port: int) -> list[str]:
    """The local addresses (hex, as /proc/net/tcp writes them) listening on `port`."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.partition(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.append(address)
    return found


def test_the_action_server_listens_on_loopback_only() -> None:
    port = free_port()
    environment = {**os.environ, "DATABASE_URL": "sqlite:///:memory:"}
    environment.pop("ACTION_SERVER_LISTEN", None)
    environment.pop("SANIC_HOST", None)
    process = subprocess.Popen([str(APP_PYTHON), "-m", "actions", "--port", str(port)],
                               cwd=ROOT, env=environment, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + READY_WITHIN
        while not _answers(f"http://127.0.0.1:{port}/health"):
            assert process.poll() is None, "the action server stopped"
            assert time.monotonic() < deadline, "the action server did not start"
            time.sleep(0.2)  # readiness probe interval, not synchronisation
        assert listening_on(port) == ["0100007F"]  # 127.0.0.1, not 0.0.0.0
    finally:
        process.terminate()
        process.wait(timeout=30)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2.0).status_code == 200
    except httpx.TransportError:
        return False


async def test_the_bot_sends_rasas_token_when_it_has_one() -> None:
    seen: list[Any] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, request.url.params.get("token")))
        return httpx.Response(200, json={"latest_message": {}})

    client = RasaClient("http://rasa.test", transport=httpx.MockTransport(handle),
                        token="s3cret")
    try:
        await client.tracker_state("42")
    finally:
        await client.aclose()
    assert seen == [("/conversations/42/tracker", "s3cret")]


def test_a_token_that_starts_with_a_dash_stays_the_tokens_value(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # as `--auth-token -x...` Rasa's argument parser took it for an option and stopped
    stack = stack_in(tmp_path, RASA_AUTH_TOKEN="-O3D3WFGhDG1IwWQZQ5TDC0PdN38kZ6pPP")
    assert "--auth-token=-O3D3WFGhDG1IwWQZQ5TDC0PdN38kZ6pPP" in commands(stack, monkeypatch)["rasa"]
