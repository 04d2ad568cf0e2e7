"""Stand-in Rasa servers on loopback for the front's tests (ops/rasa_front.py), and a
readiness wait for state another thread changes."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import tornado.web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

WAIT = 30.0  # seconds: only a bound for a broken test, never a pause


class Server:
    """A stand-in Rasa server: the REST webhook answers who served it. It notes every turn
    (sender, message) and the most turns of one sender it ever had at once; with `hold`
    cleared, turns wait until it is set."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.turns: list[tuple[str, str]] = []
        self.running: dict[str, int] = {}
        self.most_at_once = 0  # of one sender
        self.hold = threading.Event()
        self.hold.set()
        self.waiting = 0  # turns held
        self.stopped = False
        self.lock = threading.Lock()
        sockets = bind_sockets(0, address="127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        threading.Thread(target=self._serve, args=(sockets, ready), daemon=True).start()
        ready.wait()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self, sockets: list[Any], ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        server = self

        class Handler(tornado.web.RequestHandler):
            def get(self) -> None:
                self.write({"model_file": server.model})

            async def post(self) -> None:
                body = json.loads(self.request.body)
                sender = body["sender"]
                with server.lock:
                    server.turns.append((sender, body["message"]))
                    server.running[sender] = server.running.get(sender, 0) + 1
                    server.most_at_once = max(server.most_at_once, server.running[sender])
                    server.waiting += 1
                # the turn's work: other requests get the loop meanwhile
                await asyncio.get_running_loop().run_in_executor(None, server.hold.wait)
                with server.lock:
                    server.waiting -= 1
                    server.running[sender] -= 1
                self.write(json.dumps([{"recipient_id": sender, "text": body["message"],
                                        "served_by": f"{server.model}@{server.port}"}]))

        self.http = HTTPServer(tornado.web.Application([(r"/.*", Handler)]))
        self.http.add_sockets(sockets)
        ready.set()
        self.loop.run_forever()

    def stop(self) -> None:
        self.stopped = True
        self.hold.set()
        self.loop.call_soon_threadsafe(self.http.stop)


def until(condition: Callable[[], bool]) -> None:
    """Readiness: wait for state (changed by another thread) to get there."""
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "never got there"
        time.sleep(0.002)  # the readiness probe's interval
