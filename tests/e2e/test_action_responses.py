"""Rasa still refuses an action server response that breaks its format, whichever jsonschema
the engine environment pins (requirements/engine.txt pins 3.2.0 for speed: see scripts/lock).

The real Rasa server with the trained model, its action endpoint pointed at a stand-in action
server on 127.0.0.1 that answers every action with the response the test chose.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from ops.model import model_path
from ops.ports import HOST, free_port
from ops.stack import Stack

pytestmark = pytest.mark.e2e
SAID = "Hello from the stand-in action server."


class StandInActions(BaseHTTPRequestHandler):
    response: dict[str, Any] = {}
    called: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        call = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).called.append(call["next_action"])
        body = json.dumps(type(self).response).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def rasa(tmp_path_factory: pytest.TempPathFactory, seeded_sqlite_file: Path) -> Iterator[str]:
    """The Rasa server, talking to the stand-in instead of our action server."""
    folder = tmp_path_factory.mktemp("refused")
    shutil.copyfile(seeded_sqlite_file, folder / "npq.db")
    actions = ThreadingHTTPServer((HOST, free_port()), StandInActions)
    thread = threading.Thread(target=actions.serve_forever, daemon=True)
    thread.start()
    stack = Stack(rasa_port=free_port(), action_port=actions.server_address[1],
                  model=model_path(), log_dir=folder / "log",
                  env={**os.environ, "DATABASE_URL": f"sqlite:///{folder / 'npq.db'}"})
    try:
        stack.start_server("rasa")
        stack.wait_ready()
        yield stack.rasa_url
    finally:
        stack.stop()
        actions.shutdown()
        thread.join()


def greet(rasa: str, sender: str) -> list[dict[str, Any]]:
    StandInActions.called.clear()
    reply = httpx.post(f"{rasa}/webhooks/rest/webhook", timeout=60.0,
                       json={"sender": sender, "message": "/greet"})
    reply.raise_for_status()
    assert StandInActions.called == ["action_small_talk"]
    return list(reply.json())


def test_a_valid_response_is_uttered(rasa: str) -> None:
    StandInActions.response = {"events": [{"event": "slot", "name": "pending", "value": None}],
                               "responses": [{"text": SAID}]}
    assert [m.get("text") for m in greet(rasa, "valid")] == [SAID]


@pytest.mark.parametrize("events", [
    [{"event": "slot", "name": "pending"}],  # a slot without its value
    [{"event": "no_such_event"}],
    {"event": "slot", "name": "pending", "value": None},  # not a list
], ids=["slot without value", "unknown event", "events not a list"])
def test_an_invalid_response_is_refused(rasa: str, events: Any) -> None:
    StandInActions.response = {"events": events, "responses": [{"text": SAID}]}
    assert SAID not in [m.get("text") for m in greet(rasa, f"invalid-{len(str(events))}")]
