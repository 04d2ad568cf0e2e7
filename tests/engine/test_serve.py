"""rasa_components/serve.py, the way ops/stack.py starts every Rasa server: a server started
through it answers over HTTP as `rasa run` does, with no JAX in the process (TensorFlow imports
JAX only to convert models to TFLite; keeping it out saves each server about 65 MB)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "engine-test-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def call(url: str, body: dict[str, str] | None = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return dict(json.load(response))


@pytest.fixture(scope="module")
def server(models: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    folder = tmp_path_factory.mktemp("serve")
    port, log, endpoints = free_port(), folder / "rasa.log", folder / "endpoints.yml"
    endpoints.write_text("{}\n")  # no action server, the in-memory tracker and lock stores
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "rasa_components.serve", "run", "--model", str(models[0]),
             "--enable-api", f"--auth-token={TOKEN}", "--interface", "127.0.0.1",
             "--port", str(port), "--endpoints", str(endpoints)],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    try:
        while True:  # readiness probe: the server answers once its model is loaded
            assert process.poll() is None, log.read_text()[-3000:]
            try:
                call(f"{url}/status?token={TOKEN}")
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.2)
        yield url, process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def test_a_server_started_through_it_understands_messages(
        server: tuple[str, subprocess.Popen[bytes]]) -> None:
    url, _ = server
    parsed: dict[str, Any] = call(f"{url}/model/parse?token={TOKEN}",
                                  {"text": "when is the closing date for NPQSL"})
    assert parsed["intent"]["name"] == "ask_deadline"
    assert [(e["entity"], e["value"]) for e in parsed["entities"]] == [("npq", "NPQSL")]


def test_the_server_has_tensorflow_but_not_jax(server: tuple[str, subprocess.Popen[bytes]]) -> None:
    _, process = server
    mapped = {line.split()[-1] for line in
              Path(f"/proc/{process.pid}/maps").read_text().splitlines() if ".so" in line}
    assert [path for path in mapped if "/tensorflow/" in path]
    assert not [path for path in mapped if "/jaxlib/" in path or "/jax/" in path]
