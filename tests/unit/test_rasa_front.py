"""The front before the Rasa servers (ops/rasa_front.py) with stand-in servers on loopback: a
conversation stays on one server and its turns never overlap, turns queue in order, a client
that hangs up is never served, a swap replaces the whole set at once, and the expected wait
the bot reads."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from ops.ports import free_port
from ops.rasa_front import SWAP_HEADER, Gate, RasaFront, sender_of, slot_of
from ops.stack import StackError
from tests.support.rasa_servers import Server, until

WAIT = 30.0  # seconds: only a bound for a broken test, never a pause
WEBHOOK = "/webhooks/rest/webhook"


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    made: list[Server] = []
    yield made
    for server in made:
        server.stop()


@pytest.fixture
def front_of(servers: list[Server]) -> Iterator[Callable[..., RasaFront]]:
    fronts: list[RasaFront] = []

    def make(current: list[Server], launch: Callable[[Path], Any] | None = None,
             **options: Any) -> RasaFront:
        front = RasaFront(port=free_port(), servers=list(current),
                          launch=launch or (lambda path: pytest.fail("no launch expected")),
                          **options)
        front.start()
        fronts.append(front)
        return front
    yield make
    for front in fronts:
        front.stop(backend=False)


def server(servers: list[Server], model: str) -> Server:
    made = Server(model)
    servers.append(made)
    return made


def turn(client: httpx.Client, sender: str, message: str) -> str:
    """Send a message as `sender`; who answered it."""
    response = client.post(WEBHOOK, json={"sender": sender, "message": message})
    response.raise_for_status()
    answer = response.json()[0]
    assert answer["text"] == message
    return str(answer["served_by"])


# --- where a request goes -----------------------------------------------------------------------

@pytest.mark.parametrize(("method", "path", "body", "sender"), [
    ("POST", WEBHOOK, b'{"sender": "123", "message": "hi"}', "123"),
    ("POST", "/webhooks/rest/webhook", b'{"message": "hi"}', None),
    ("POST", "/webhooks/rest/webhook", b"not json", None),
    ("GET", "/conversations/12%2034/tracker", b"", "12 34"),
    ("PUT", "/conversations/55/tracker/events", b"[]", "55"),
    ("GET", "/status", b"", None),
    ("POST", "/model/parse", b'{"text": "hi"}', None),
])
def test_the_conversation_a_request_is_about(method: str, path: str, body: bytes,
                                             sender: str | None) -> None:
    assert sender_of(method, path, body) == sender


def test_a_conversation_hashes_to_the_same_server_in_every_process() -> None:
    assert [slot_of(s, 2) for s in ("1", "2", "3", "123456789")] == \
        [slot_of(s, 2) for s in ("1", "2", "3", "123456789")]
    assert {slot_of(str(chat), 2) for chat in range(100)} == {0, 1}
    assert slot_of("123456789", 2) == 0  # fixed: a restart keeps every chat where it was


def test_a_conversation_stays_on_one_server_and_its_turns_never_overlap(
        servers: list[Server], front_of: Callable[..., RasaFront]) -> None:
    one, two = server(servers, "m"), server(servers, "m")
    front = front_of([one, two])
    senders = [str(1000 + n) for n in range(12)]
    # every message of every sender at once: the front must keep each sender's in single file
    with ThreadPoolExecutor(max_workers=48) as pool, \
            httpx.Client(base_url=front.url, timeout=WAIT) as client:
        answered = list(pool.map(lambda job: (job[0], turn(client, *job)),
                                 [(s, f"{s}-{n}") for s in senders for n in range(4)]))
    by_sender: dict[str, set[str]] = {}
    for sender, served_by in answered:
        by_sender.setdefault(sender, set()).add(served_by)
    assert all(len(served) == 1 for served in by_sender.values()), by_sender
    assert {s for served in by_sender.values() for s in served} == \
        {f"m@{one.port}", f"m@{two.port}"}  # both servers work
    assert one.most_at_once == two.most_at_once == 1
    assert len(one.turns) + len(two.turns) == 48


def test_a_conversations_turns_reach_rasa_in_the_order_they_arrived(
        servers: list[Server], front_of: Callable[..., RasaFront]) -> None:
    only = server(servers, "m")
    front = front_of([only])
    only.hold.clear()
    with ThreadPoolExecutor(max_workers=4) as pool, \
            httpx.Client(base_url=front.url, timeout=WAIT) as client:
        first = pool.submit(turn, client, "7", "first")
        until(lambda: only.waiting == 1)
        later = []
        for n, text in enumerate(("second", "third", "fourth"), start=2):
            later.append(pool.submit(turn, client, "7", text))
            until(lambda n=n: front.expected_wait("7")[1] >= n)  # queued in the front
        only.hold.set()
        for done in [first, *later]:
            done.result(timeout=WAIT)
    assert only.turns == [("7", "first"), ("7", "second"), ("7", "third"), ("7", "fourth")]


def test_a_server_works_on_a_bounded_number_of_turns_the_rest_wait_in_order(
        servers: list[Server], front_of: Callable[..., RasaFront]) -> None:
    only = server(servers, "m")
    front = front_of([only], concurrency=2)
    only.hold.clear()
    with ThreadPoolExecutor(max_workers=8) as pool, \
            httpx.Client(base_url=front.url, timeout=WAIT) as client:
        idle = front.expected_wait("1")[0]
        sent = [pool.submit(turn, client, str(n), "hello") for n in range(2)]
        until(lambda: only.waiting == 2)
        for n in range(2, 6):
            sent.append(pool.submit(turn, client, str(n), "hello"))
            until(lambda n=n: front.gates[0].waiting == n - 1)
        assert only.waiting == 2  # the other four wait in the front, not in Rasa
        seconds, ahead = front.expected_wait("99")
        assert ahead == 5 and seconds > idle
        waiting = client.get("/front/wait", params={"sender": "99"}).json()
        assert waiting["ahead"] == 5 and waiting["seconds"] > idle
        only.hold.set()
        for done in sent:
            done.result(timeout=WAIT)
    senders = [sender for sender, _ in only.turns]
    assert set(senders[:2]) == {"0", "1"} and set(senders[2:]) == {"2", "3", "4", "5"}


def test_a_turn_whose_client_hung_up_in_the_queue_never_reaches_rasa(
        servers: list[Server], front_of: Callable[..., RasaFront]) -> None:
    only = server(servers, "m")
    front = front_of([only], concurrency=1)
    only.hold.clear()
    with ThreadPoolExecutor(max_workers=2) as pool, \
            httpx.Client(base_url=front.url, timeout=WAIT) as client:
        first = pool.submit(turn, client, "1", "answered")
        until(lambda: only.waiting == 1)
        body = json.dumps({"sender": "2", "message": "given up"}).encode()
        with socket.create_connection(("127.0.0.1", front.port)) as gone:
            gone.sendall(b"POST " + WEBHOOK.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Type: application/json\r\nContent-Length: "
                         + str(len(body)).encode() + b"\r\n\r\n" + body)
            until(lambda: front.gates[0].waiting == 1)
        until(lambda: front.gates[0].waiting == 0)  # dropped once the client is gone
        only.hold.set()
        first.result(timeout=WAIT)
        assert turn(client, "3", "after") == f"m@{only.port}"
    assert only.turns == [("1", "answered"), ("3", "after")]


def test_with_a_shared_lock_store_a_turn_goes_to_the_least_busy_server(
        servers: list[Server], front_of: Callable[..., RasaFront]) -> None:
    one, two = server(servers, "m"), server(servers, "m")
    front = front_of([one, two], affinity=False, concurrency=1)
    one.hold.clear()
    with ThreadPoolExecutor(max_workers=2) as pool, \
            httpx.Client(base_url=front.url, timeout=WAIT) as client:
        busy = pool.submit(turn, client, "1", "long")
        until(lambda: one.waiting == 1)
        assert [turn(client, str(n), "quick") for n in range(2, 5)] == [f"m@{two.port}"] * 3
        one.hold.set()
        assert busy.result(timeout=WAIT) == f"m@{one.port}"


def test_the_gate_hands_a_freed_slot_to_the_longest_waiting() -> None:
    async def scenario() -> list[str]:
        gate, order = Gate(1), []
        await gate.enter()

        async def wait(name: str) -> None:
            await gate.enter()
            order.append(name)
            gate.leave()

        first = asyncio.ensure_future(wait("first"))
        given_up = asyncio.ensure_future(wait("given up"))
        second = asyncio.ensure_future(wait("second"))
        while gate.waiting < 3:
            await asyncio.sleep(0)  # let them queue (an event-loop turn, not a pause)
        given_up.cancel()
        gate.leave()
        await asyncio.gather(first, second, given_up, return_exceptions=True)
        assert gate.busy == 0 and gate.waiting == 0
        return order

    assert asyncio.run(scenario()) == ["first", "second"]


# --- more servers, and a new model --------------------------------------------------------------

def test_the_front_grows_to_the_servers_asked_for(
        servers: list[Server], front_of: Callable[..., RasaFront], tmp_path: Path) -> None:
    first = server(servers, "npq-a.tar.gz")
    launched: list[Path] = []
    loaded = threading.Event()

    def launch(path: Path) -> Server:
        launched.append(path)
        assert loaded.wait(WAIT)
        return server(servers, path.name)

    front = front_of([first], launch, model=tmp_path / "npq-a.tar.gz")
    growing = front.grow(3)
    with httpx.Client(base_url=front.url, timeout=WAIT) as client:
        until(lambda: len(launched) == 2)
        assert turn(client, "1", "meanwhile") == f"npq-a.tar.gz@{first.port}"
        starting = client.get("/front/status").json()
        loaded.set()
        growing.result(timeout=WAIT)
        grown = client.get("/front/status").json()
        answered = {turn(client, str(chat), "hi") for chat in range(60)}
    assert launched == [tmp_path / "npq-a.tar.gz"] * 2 and len(front.servers) == 3
    assert (starting["servers"], starting["starting"]) == (1, 2)
    assert (grown["servers"], grown["starting"], grown["model"]) == (3, 0, "npq-a.tar.gz")
    assert answered == {f"npq-a.tar.gz@{s.port}" for s in servers}


def test_a_swap_switches_every_server_at_once(
        servers: list[Server], front_of: Callable[..., RasaFront], tmp_path: Path) -> None:
    old = [server(servers, "npq-old.tar.gz"), server(servers, "npq-old.tar.gz")]
    started: list[Server] = []
    first_ready, may_finish = threading.Event(), threading.Event()
    lock = threading.Lock()

    def launch(path: Path) -> Server:  # one new server is ready at once, the other when told
        with lock:
            new = server(servers, path.name)
            started.append(new)
            last = len(started) == 2
        if last:
            assert may_finish.wait(WAIT)
        else:
            first_ready.set()
        return new

    front = front_of(old, launch, model=tmp_path / "npq-old.tar.gz")
    (tmp_path / "npq-new.tar.gz").write_bytes(b"x")
    chats = [str(100 + n) for n in range(16)]
    with ThreadPoolExecutor(max_workers=8) as pool, \
            httpx.Client(base_url=front.url, timeout=WAIT) as client:
        swap = pool.submit(client.put, "/model",
                           json={"model_file": str(tmp_path / "npq-new.tar.gz")})
        assert first_ready.wait(WAIT)  # half the new set is ready: it must not serve yet
        during = list(pool.map(lambda chat: turn(client, chat, "during"), chats))
        may_finish.set()
        response = swap.result(timeout=WAIT)
        after = list(pool.map(lambda chat: turn(client, chat, "after"), chats))
        status = client.get("/status").json()
    assert {served.split("@")[0] for served in during} == {"npq-old.tar.gz"}
    assert {served.split("@")[0] for served in after} == {"npq-new.tar.gz"}
    assert len(set(after)) == 2  # both new servers serve
    assert response.status_code == 204 and response.headers[SWAP_HEADER] == "beside"
    assert status == {"model_file": "npq-new.tar.gz"}
    assert all(server.stopped for server in old) and not any(s.stopped for s in started)
    assert front.swaps == 1 and front.model == tmp_path / "npq-new.tar.gz"


def test_a_swap_where_one_new_server_fails_keeps_the_old_set(
        servers: list[Server], front_of: Callable[..., RasaFront], tmp_path: Path) -> None:
    old = [server(servers, "npq-old.tar.gz"), server(servers, "npq-old.tar.gz")]
    started: list[Server] = []
    lock = threading.Lock()

    def launch(path: Path) -> Server:
        with lock:
            if started:
                raise StackError("The rasa server stopped (exit code 1)")
            started.append(server(servers, path.name))
            return started[-1]

    front = front_of(old, launch)
    (tmp_path / "broken.tar.gz").write_bytes(b"x")
    with httpx.Client(base_url=front.url, timeout=WAIT) as client:
        failed = client.put("/model", json={"model_file": str(tmp_path / "broken.tar.gz")})
        answered = {turn(client, str(chat), "hi").split("@")[0] for chat in range(10)}
    assert failed.status_code == 500 and "did not start" in failed.json()["message"]
    assert answered == {"npq-old.tar.gz"}
    assert [s.stopped for s in started] == [True]  # the one that did start is not left running
    assert not any(s.stopped for s in old) and front.swaps == 0
