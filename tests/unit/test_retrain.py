"""Retraining's parts without the engine: the quality gate, the lock, the registry `make run`
follows, rollback and the model log against a stand-in Rasa server on loopback, and the front
that swaps models without a pause (ops/rasa_front.py) with stand-in servers."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import tornado.web
from sqlalchemy.orm import Session, sessionmaker
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from npq.db import session_scope
from npq.model_history import model_actions
from ops import model
from ops.evaluation import Entity, Example, evaluate
from ops.gate import Decision, Scores, gate, tolerance_from_env
from ops.ports import free_port
from ops.rasa_front import SWAP_HEADER, RasaFront
from ops.retrain import (
    RetrainBusy,
    RetrainError,
    exclusive,
    load_into_service,
    retrain,
    rollback,
    serving_model,
)
from ops.stack import StackError

ROOT = Path(__file__).resolve().parents[2]
WAIT = 30  # seconds: only a bound for a broken test, never a pause


# --- the gate -----------------------------------------------------------------------------------

BASE = Scores(0.95, 0.94, 0.90)


@pytest.mark.parametrize(("after", "promote", "named"), [
    (Scores(0.95, 0.94, 0.90), True, []),
    (Scores(0.96, 0.95, 0.93), True, []),
    (Scores(0.941, 0.931, 0.891), True, []),  # within 0.01 on all three
    (Scores(0.94, 0.93, 0.89), True, []),  # exactly the tolerance
    (Scores(0.939, 0.95, 0.95), False, ["intent accuracy"]),
    (Scores(0.99, 0.92, 0.95), False, ["macro F1"]),
    (Scores(0.99, 0.99, 0.70), False, ["entity F1"]),
    (Scores(0.50, 0.40, 0.30), False, ["intent accuracy", "macro F1", "entity F1"]),
])
def test_gate(after: Scores, promote: bool, named: list[str]) -> None:
    decision = gate(BASE, after, 0.01)
    assert decision.promote is promote
    if promote:
        assert len(decision.reasons) == 3  # what changed, for the log
    else:
        assert [r.split(" 0.")[0] for r in decision.reasons] == named
        assert all("more than the tolerance of 0.010" in r for r in decision.reasons)


def test_gate_reason_says_how_much() -> None:
    assert gate(BASE, Scores(0.90, 0.94, 0.90), 0.01) == Decision(False, (
        "intent accuracy 0.950 -> 0.900 (-0.050), more than the tolerance of 0.010",))


def test_zero_tolerance_refuses_any_fall() -> None:
    assert not gate(BASE, Scores(0.9499, 0.94, 0.90), 0.0).promote
    assert gate(BASE, BASE, 0.0).promote


def test_scores_come_from_the_held_out_report() -> None:
    examples = [Example("hub near Leeds", "find_hub", [Entity("location", "Leeds", 9, 14)]),
                Example("hello", "greet"), Example("bye", "goodbye")]
    parses = [{"intent": {"name": "find_hub", "confidence": 0.9},
               "entities": [{"entity": "location", "value": "Leeds", "start": 9, "end": 14}]},
              {"intent": {"name": "greet", "confidence": 0.9}},
              {"intent": {"name": "greet", "confidence": 0.6}}]
    scores = Scores.of(evaluate(examples, parses, 0.4))
    assert scores.intent_accuracy == pytest.approx(2 / 3)
    assert scores.entity_f1 == 1.0
    assert scores.macro_f1 == pytest.approx((1 + 2 / 3 + 0) / 3)
    assert str(scores).startswith("intent accuracy 0.667, macro F1 0.556")


@pytest.mark.parametrize(("value", "tolerance"), [("", 0.01), ("0", 0.0), ("0.02", 0.02)])
def test_tolerance_setting(value: str, tolerance: float) -> None:
    assert tolerance_from_env({"RETRAIN_TOLERANCE": value}) == tolerance


@pytest.mark.parametrize("value", ["-0.1", "0.9", "one"])
def test_tolerance_setting_refuses_nonsense(value: str) -> None:
    with pytest.raises(ValueError, match="RETRAIN_TOLERANCE"):
        tolerance_from_env({"RETRAIN_TOLERANCE": value})


# --- one at a time ------------------------------------------------------------------------------

def test_a_second_retrain_in_the_same_process_is_refused(tmp_path: Path) -> None:
    with exclusive(tmp_path, "staff:1"), pytest.raises(RetrainBusy, match="staff:1"), \
            exclusive(tmp_path, "staff:2"):
        pass
    with exclusive(tmp_path, "staff:2"):  # released
        pass


def test_the_lock_holds_across_processes(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from pathlib import Path; "
         "from ops.retrain import exclusive\n"
         f"with exclusive(Path({str(tmp_path)!r}), 'telegram:99'):\n"
         "    print('held', flush=True); sys.stdin.read()"],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(RetrainBusy, match="telegram:99"), exclusive(tmp_path, "terminal"):
            pass
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=WAIT)
    with exclusive(tmp_path, "terminal"):  # the kernel released it with the process
        pass


# --- what make run serves -----------------------------------------------------------------------

@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project root with the inputs a model's fingerprint covers, and two model files."""
    for name in model.INPUTS:
        if name == "nlu_data":
            continue
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, tmp_path / name,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (tmp_path / name).write_bytes((ROOT / name).read_bytes())
    (tmp_path / "nlu_data" / "nlu").mkdir(parents=True)
    (tmp_path / "nlu_data" / "nlu" / "greet.yml").write_text(
        'version: "3.1"\nnlu:\n  - intent: greet\n    examples: |\n      - hi\n')
    (tmp_path / "models").mkdir()
    for name in ("npq-old.tar.gz", "npq-new.tar.gz"):
        (tmp_path / "models" / name).write_bytes(b"not really a model")
    return tmp_path


def test_the_fingerprint_covers_every_component_module_but_not_the_bench_or_launcher(
        project: Path) -> None:
    """A changed pipeline component (rasa_components/textspeak.py, say) must train a new model:
    the fingerprint listed a few modules by name, so a new one changed nothing."""
    before = model.fingerprint(project)
    for name in ("bench.py", "serve.py", "__pycache__/textspeak.cpython-310.pyc"):
        (project / "rasa_components" / name).parent.mkdir(exist_ok=True)
        (project / "rasa_components" / name).write_text("# changed\n")
    assert model.fingerprint(project) == before
    for name in ("textspeak.py", "no_words.py", "entities.py", "intents.py"):
        path = project / "rasa_components" / name
        path.write_text(path.read_text() + "# changed\n")
        assert model.fingerprint(project) != before, name
        before = model.fingerprint(project)


def test_make_run_serves_what_staff_put_in_service_while_the_data_is_unchanged(
        project: Path) -> None:
    trained = model.trained_model_path(project)
    assert model.model_path(project) == trained  # nothing recorded yet
    model.write_registry(model.Registry("npq-old.tar.gz", model.fingerprint(project)), project)
    assert model.model_path(project) == project / "models" / "npq-old.tar.gz"
    (project / "nlu_data" / "nlu" / "greet.yml").write_text(
        'version: "3.1"\nnlu:\n  - intent: greet\n    examples: |\n      - hi\n      - hey\n')
    assert model.model_path(project) == model.trained_model_path(project) != trained


def test_a_missing_recorded_model_falls_back_to_the_trained_one(project: Path) -> None:
    model.write_registry(model.Registry("npq-gone.tar.gz", model.fingerprint(project)), project)
    assert model.model_path(project) == model.trained_model_path(project)
    (project / "models" / "serving.json").write_text("{not json")
    assert model.read_registry(project) == model.Registry()


# --- a stand-in Rasa server ---------------------------------------------------------------------

class FakeRasa:
    """Loopback HTTP server speaking the bits of Rasa's API retraining uses. The REST webhook
    waits until `release` is set; PUT /model takes the new model's name unless `stubborn`.
    `seen`: every (method, path, token) that reached it."""

    def __init__(self, model_file: str, *, stubborn: bool = False) -> None:
        self.model_file = model_file
        self.stubborn = stubborn
        self.release = threading.Event()
        self.arrived = threading.Event()
        self.in_flight = 0
        self.log: list[str] = []
        self.stopped_with: int | None = None  # requests in flight when stopped
        self.seen: list[tuple[str, str, str | None]] = []
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
        fake = self

        class Handler(tornado.web.RequestHandler):
            SUPPORTED_METHODS = ("GET", "POST", "PUT", "DELETE")

            def prepare(self) -> None:
                fake.seen.append((self.request.method or "", self.request.path,
                                  self.get_query_argument("token", None)))

            def delete(self) -> None:
                self.set_status(204)

            def get(self) -> None:
                if self.request.path != "/status":
                    raise tornado.web.HTTPError(404)
                self.write({"model_file": fake.model_file})

            async def post(self) -> None:
                if self.request.path == "/webhooks/rest/webhook":
                    fake.in_flight += 1
                    fake.arrived.set()
                    await asyncio.get_running_loop().run_in_executor(None, fake.release.wait)
                    fake.in_flight -= 1
                    fake.log.append("slow answered")
                text = json.loads(self.request.body or b"{}").get("text")
                self.write({"text": text, "served_by": fake.model_file,
                            "intent": {"name": "greet", "confidence": 0.9}})

            def put(self) -> None:
                if not fake.stubborn:
                    fake.model_file = Path(json.loads(self.request.body)["model_file"]).name
                self.set_status(204)

        self.server = HTTPServer(tornado.web.Application([(r"/.*", Handler)]))
        self.server.add_sockets(sockets)
        ready.set()
        self.loop.run_forever()

    def stop(self) -> None:
        self.stopped_with = self.in_flight
        self.log.append("stopped")
        self.release.set()
        self.loop.call_soon_threadsafe(self.server.stop)


@pytest.fixture
def fakes() -> Iterator[list[FakeRasa]]:
    made: list[FakeRasa] = []
    yield made
    for fake in made:
        if "stopped" not in fake.log:
            fake.stop()


@pytest.fixture
def factory(session_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    return session_factory


# --- rollback and loading -----------------------------------------------------------------------

def test_rollback_puts_the_previous_model_back_and_logs_it(
        project: Path, factory: sessionmaker[Session], fakes: list[FakeRasa]) -> None:
    rasa = FakeRasa("npq-new.tar.gz")
    fakes.append(rasa)
    model.write_registry(model.Registry("npq-new.tar.gz", model.fingerprint(project),
                                        ["npq-gone.tar.gz", "npq-old.tar.gz"]), project)
    said: list[str] = []
    outcome = rollback(factory, rasa_url=rasa.url, staff_id="telegram:5", root=project,
                       progress=said.append)
    assert (outcome.action, outcome.serving) == ("rollback", "npq-old.tar.gz")
    assert rasa.model_file == "npq-old.tar.gz"
    recorded = json.loads((project / "models" / "serving.json").read_text())
    assert recorded == {"model": "npq-old.tar.gz", "inputs": model.fingerprint(project),
                        "history": ["npq-gone.tar.gz"]}
    assert model.model_path(project) == project / "models" / "npq-old.tar.gz"  # make run too
    assert said[-1].startswith("Done: npq-old.tar.gz is in service again")
    with session_scope(factory) as session:
        [row] = model_actions(session)
        assert (row.action, row.model_file, row.previous_model, row.staff_id) == (
            "rollback", "npq-old.tar.gz", "npq-new.tar.gz", "telegram:5")
    with pytest.raises(RetrainError, match="no earlier model"):  # npq-gone is not on disk
        rollback(factory, rasa_url=rasa.url, staff_id="telegram:5", root=project,
                 progress=said.append)


def test_loading_checks_rasa_really_switched(project: Path, fakes: list[FakeRasa]) -> None:
    rasa = FakeRasa("npq-old.tar.gz", stubborn=True)
    fakes.append(rasa)
    with pytest.raises(RetrainError, match="still runs another model"):
        load_into_service(rasa.url, project / "models" / "npq-new.tar.gz")


def test_a_rasa_server_that_is_not_running_is_reported() -> None:
    with pytest.raises(RetrainError, match="does not answer"):
        serving_model("http://127.0.0.1:9")


def test_nothing_to_train_when_the_model_in_service_saw_this_data(
        project: Path, factory: sessionmaker[Session], fakes: list[FakeRasa]) -> None:
    rasa = FakeRasa(model.trained_model_path(project).name)
    fakes.append(rasa)
    said: list[str] = []
    outcome = retrain(factory, rasa_url=rasa.url, staff_id="s", root=project, export=False,
                      progress=said.append)
    assert outcome.action == "unchanged" and said[-1].startswith("Nothing new to learn")
    with session_scope(factory) as session:
        assert model_actions(session) == []


# --- the front: swapping without a pause --------------------------------------------------------


@pytest.fixture
def front_with(fakes: list[FakeRasa]) -> Iterator[Callable[..., RasaFront]]:
    """Start a RasaFront before the given stand-in; stopped (not its server) afterwards."""
    fronts: list[RasaFront] = []

    def make(current: FakeRasa, launch: Callable[[Path], Any],
             token: str | None = None) -> RasaFront:
        front = RasaFront(port=free_port(), servers=[current], launch=launch, token=token)
        front.start()
        fronts.append(front)
        return front
    yield make
    for front in fronts:
        front.stop(backend=False)


def test_the_front_forwards_everything(fakes: list[FakeRasa],
                                       front_with: Callable[..., RasaFront]) -> None:
    old = FakeRasa("npq-old.tar.gz")
    fakes.append(old)
    front = front_with(old, launch=lambda path: pytest.fail("no swap expected"))
    with httpx.Client(base_url=front.url, timeout=WAIT) as client:
        assert client.get("/status").json() == {"model_file": "npq-old.tar.gz"}
        parsed = client.post("/model/parse", json={"text": "héllo 👋"})
        assert parsed.headers["content-type"].startswith("application/json")
        assert parsed.json()["text"] == "héllo 👋"
        assert parsed.json()["served_by"] == "npq-old.tar.gz"
        assert client.get("/nowhere").status_code == 403


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/conversations/42/execute"), ("POST", "/conversations/42/trigger_intent"),
    ("POST", "/conversations/42/messages"), ("POST", "/conversations/42/predict"),
    ("POST", "/model/train"), ("POST", "/model/test/intents"), ("DELETE", "/model"),
    ("GET", "/domain"), ("GET", "/conversations/42/story"), ("GET", "/version/../domain"),
])
def test_the_front_forwards_only_what_the_assistant_uses(
        fakes: list[FakeRasa], front_with: Callable[..., RasaFront], method: str,
        path: str) -> None:
    rasa = FakeRasa("npq-old.tar.gz")
    fakes.append(rasa)
    front = front_with(rasa, launch=lambda path: pytest.fail("no swap expected"), token="s3cret")
    with httpx.Client(base_url=front.url, timeout=WAIT) as client:
        assert client.request(method, path, params={"token": "s3cret"}).status_code == 403
    assert rasa.seen == []


def test_the_front_adds_rasas_token_to_what_it_forwards(
        fakes: list[FakeRasa], front_with: Callable[..., RasaFront]) -> None:
    rasa = FakeRasa("npq-old.tar.gz")
    fakes.append(rasa)
    front = front_with(rasa, launch=lambda path: pytest.fail("no swap expected"), token="s3cret")
    rasa.release.set()
    with httpx.Client(base_url=front.url, timeout=WAIT) as client:
        client.get("/status")
        client.post("/webhooks/rest/webhook", json={"sender": "42", "message": "hi"})
        client.get("/conversations/42/tracker", params={"include_events": "NONE",
                                                        "token": "guessed"})
        client.put("/conversations/42/tracker/events", json=[])
    assert rasa.seen == [("GET", "/status", "s3cret"),
                         ("POST", "/webhooks/rest/webhook", "s3cret"),
                         ("GET", "/conversations/42/tracker", "s3cret"),
                         ("PUT", "/conversations/42/tracker/events", "s3cret")]


def test_messages_during_a_swap_are_all_answered(
        tmp_path: Path, fakes: list[FakeRasa], front_with: Callable[..., RasaFront]) -> None:
    old = FakeRasa("npq-old.tar.gz")
    fakes.append(old)
    loading, may_finish = threading.Event(), threading.Event()

    def launch(path: Path) -> FakeRasa:  # a new server that takes as long as the test likes
        loading.set()
        may_finish.wait(WAIT)
        new = FakeRasa(path.name)
        fakes.append(new)
        return new

    front = front_with(old, launch)
    (tmp_path / "npq-new.tar.gz").write_bytes(b"x")
    with ThreadPoolExecutor(max_workers=8) as pool, httpx.Client(base_url=front.url,
                                                                 timeout=WAIT) as client:
        swap = pool.submit(client.put, "/model",
                           json={"model_file": str(tmp_path / "npq-new.tar.gz")})
        assert loading.wait(WAIT)
        during = list(pool.map(lambda n: client.post("/model/parse", json={"text": f"m{n}"}),
                               range(20)))
        may_finish.set()
        response = swap.result(timeout=WAIT)
        after = client.post("/model/parse", json={"text": "after"})
    assert [r.status_code for r in during] == [200] * 20
    assert {r.json()["served_by"] for r in during} == {"npq-old.tar.gz"}
    assert response.status_code == 204 and response.headers[SWAP_HEADER] == "beside"
    assert after.json()["served_by"] == "npq-new.tar.gz"
    assert old.log == ["stopped"] and front.swaps == 1


def test_the_old_server_stops_only_once_its_requests_are_answered(
        tmp_path: Path, fakes: list[FakeRasa], front_with: Callable[..., RasaFront]) -> None:
    old = FakeRasa("npq-old.tar.gz")
    fakes.append(old)

    def launch(path: Path) -> FakeRasa:
        new = FakeRasa(path.name)
        fakes.append(new)
        return new

    front = front_with(old, launch)
    (tmp_path / "npq-new.tar.gz").write_bytes(b"x")
    with ThreadPoolExecutor(max_workers=4) as pool, httpx.Client(base_url=front.url,
                                                                 timeout=WAIT) as client:
        slow = pool.submit(client.post, "/webhooks/rest/webhook", json={"text": "in flight"})
        assert old.arrived.wait(WAIT)
        swap = pool.submit(client.put, "/model",
                           json={"model_file": str(tmp_path / "npq-new.tar.gz")})
        # Once new requests reach the new server the swap is draining the old one.
        while client.post("/model/parse", json={}).json()["served_by"] != "npq-new.tar.gz":
            assert not swap.done(), swap.result()
        assert old.log == [] and not swap.done()  # not stopped: a request is still there
        old.release.set()
        assert slow.result(timeout=WAIT).json()["served_by"] == "npq-old.tar.gz"
        assert swap.result(timeout=WAIT).status_code == 204
    assert old.log == ["slow answered", "stopped"] and old.stopped_with == 0


def test_a_model_that_does_not_start_leaves_the_old_one_serving(
        tmp_path: Path, fakes: list[FakeRasa], front_with: Callable[..., RasaFront]) -> None:
    old = FakeRasa("npq-old.tar.gz")
    fakes.append(old)

    def launch(path: Path) -> FakeRasa:
        raise StackError("The rasa server stopped (exit code 1)")

    front = front_with(old, launch)
    (tmp_path / "broken.tar.gz").write_bytes(b"x")
    with httpx.Client(base_url=front.url, timeout=WAIT) as client:
        failed = client.put("/model", json={"model_file": str(tmp_path / "broken.tar.gz")})
        missing = client.put("/model", json={"model_file": str(tmp_path / "nowhere.tar.gz")})
        assert client.get("/status").json() == {"model_file": "npq-old.tar.gz"}
    assert failed.status_code == 500 and "did not start" in failed.json()["message"]
    assert missing.status_code == 400
    assert old.log == [] and front.swaps == 0
