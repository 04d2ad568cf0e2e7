"""Staff keep the assistant sharp, end to end, with the real engine: messages the model gets
wrong reach the review queue, are labelled, a retrained model is promoted by the real quality
gate and loaded into a running Rasa server, and the same messages are then understood; a model
trained on damaged data is refused; rollback brings the old model back. Chats keep sending messages
through the front while a model is swapped in, and every one is answered within ANSWER_WITHIN
(Rasa loading a model in place answers nothing for about 25 s here).

Uses its own stack (action server, Rasa behind a RasaFront) on copies of nlu_data and models in a
temporary folder; never the session's shared `stack`, the repository's nlu_data/ or models/.
Costs two trainings (one full, one on a sliver of the data) and six Rasa start-ups: about
ten minutes on two quiet cores. Needs `make model`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from npq.db import make_engine, make_session_factory, session_scope
from npq.review import label, model_actions, record_feedback, record_turn, review_queue
from tools import model
from tools.nlu_report import HELDOUT, fallback_threshold, load_examples
from tools.rasa_front import RasaFront, RasaProcess, launcher
from tools.retrain import Outcome, retrain, rollback
from tools.stack import Stack

from tests.e2e.conftest import free_port

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
# Twice the bot's patience before it apologises (RASA_PATIENCE_SECONDS, 5 s) and a third of
# its timeout (RASA_TIMEOUT_SECONDS, 30 s): slack for a busy two-core machine, far below the
# pause of an in-place load.
ANSWER_WITHIN = 10.0
# Two messages the shipped model gets wrong: one falls back, one is confidently misread.
FALLS_BACK = ("i'm a TA, anything for me", "recommend_npq")
MISREAD = ("gimme the lowdown on headship", "programme_info")
TRAFFIC = ("hello", "is there a hub near Leeds", "what does the NPQH involve")


def copy_project(target: Path) -> Path:
    """What training reads, and the model in service, copied: tests never write the real ones."""
    for name in ("config.yml", "domain.yml", "requirements/engine.txt"):
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / name, target / name)
    shutil.copytree(ROOT / "nlu_data", target / "nlu_data")
    (target / "models").mkdir()
    base = model.model_path()
    assert base.exists(), f"no trained model at {base}: run `make model` (make test does)"
    shutil.copyfile(base, target / "models" / base.name)
    return target


@dataclass
class Service:
    front: RasaFront
    base: Path
    factory: sessionmaker[Session]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, seeded_sqlite_file: Path
            ) -> Iterator[Service]:
    """The action server and Rasa (the shipped model) behind a RasaFront, as `make run` would
    run them, on a copy of the seeded database."""
    folder = tmp_path_factory.mktemp("retrain-service")
    database = folder / "npq.db"
    shutil.copyfile(seeded_sqlite_file, database)
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}"}
    base = copy_project(folder / "project").joinpath("models", model.model_path().name)
    started = time.monotonic()
    stack = Stack(rasa_port=free_port(), action_port=free_port(), model=base,
                  log_dir=folder / "log", env=env)
    engine = make_engine(env["DATABASE_URL"])
    with stack:
        front = RasaFront(port=free_port(), current=RasaProcess(stack),
                          launch=launcher(action_port=stack.action_port, env=env,
                                          log_dir=folder / "log", free_port=free_port))
        front.start()
        print(f"\n[retrain e2e] stack ready in {time.monotonic() - started:.0f} s")
        try:
            yield Service(front, base, make_session_factory(engine))
        finally:
            front.stop()
    engine.dispose()


@dataclass
class Traffic:
    """Chats sending messages one after another through the front until stopped."""

    url: str
    answers: list[tuple[float, int, bool]] = field(default_factory=list)  # latency, status, replied
    failures: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def chat(self, n: int) -> None:
        with httpx.Client(base_url=self.url, timeout=ANSWER_WITHIN) as client:
            sent = 0
            while not self.stop.is_set():
                message = TRAFFIC[sent % len(TRAFFIC)]
                sent += 1
                started = time.monotonic()
                try:
                    response = client.post("/webhooks/rest/webhook",
                                           json={"sender": f"traffic-{n}", "message": message})
                    self.answers.append((time.monotonic() - started, response.status_code,
                                         bool(response.status_code == 200 and response.json())))
                except httpx.HTTPError as error:
                    self.failures.append(f"{message!r} after {time.monotonic() - started:.1f} s:"
                                         f" {type(error).__name__} {error}")

    def summary(self) -> str:
        latencies = sorted(latency for latency, _, _ in self.answers) or [0.0]
        return (f"{len(self.answers)} answered, {len(self.failures)} failed; latency median "
                f"{latencies[len(latencies) // 2]:.2f} s, max {latencies[-1]:.2f} s")

    def assert_all_answered(self) -> None:
        assert self.failures == [], self.failures[:5]
        assert len(self.answers) >= 10  # the swap did overlap the chats
        assert all(status == 200 and replied for _, status, replied in self.answers)


@contextlib.contextmanager
def chats(url: str, n: int = 3) -> Iterator[Traffic]:
    """n chats sending messages through the front while the block runs."""
    flow = Traffic(url)
    with ThreadPoolExecutor(max_workers=n) as pool:
        for chat in range(n):
            pool.submit(flow.chat, chat)
        try:
            yield flow
        finally:
            flow.stop.set()


@pytest.fixture(scope="module")
def warm(service: Service) -> None:
    """First answers build caches (the gazetteer): not what the swap tests measure."""
    with httpx.Client(base_url=service.front.url, timeout=120.0) as client:
        for message in TRAFFIC:
            client.post("/webhooks/rest/webhook",
                        json={"sender": "warm-up", "message": message}).raise_for_status()


def parse(front: RasaFront, text: str) -> dict:
    return httpx.post(f"{front.url}/model/parse", json={"text": text}, timeout=30).json()


def say(front: RasaFront, factory: sessionmaker[Session], sender: str, text: str) -> int:
    """What the bot will do for each message: send it, read the parse back from the tracker,
    record the turn. Returns the message_log id."""
    with httpx.Client(base_url=front.url, timeout=60) as client:
        replies = client.post("/webhooks/rest/webhook", json={"sender": sender, "message": text})
        latest = client.get(f"/conversations/{sender}/tracker",
                            params={"include_events": "NONE"}).json()["latest_message"]
    with session_scope(factory) as session:
        row = record_turn(session, chat_id=sender, text=text, parse=latest,
                          reply="\n".join(r.get("text") or "" for r in replies.json()),
                          now=dt.datetime.now(dt.timezone.utc), threshold=fallback_threshold(
                              (ROOT / "config.yml").read_text()))
        return row.id


@dataclass
class Promotion:
    outcome: Outcome
    root: Path
    progress: list[str]
    traffic: Traffic  # the chats while the candidate was swapped in


@pytest.fixture(scope="module")
def promoted(service: Service, warm: None, tmp_path_factory: pytest.TempPathFactory
             ) -> Promotion:
    """Two misunderstood messages reach the queue, staff label them, retrain; chats keep
    talking from the moment the candidate is promoted until it is in service."""
    front, factory = service.front, service.factory
    assert parse(front, FALLS_BACK[0])["intent"]["name"] == "nlu_fallback"
    assert parse(front, MISREAD[0])["intent"]["name"] not in ("nlu_fallback", MISREAD[1])
    say(front, factory, "user-1", FALLS_BACK[0])
    say(front, factory, "user-2", FALLS_BACK[0].upper())  # the same, shouted: one item
    misread = say(front, factory, "user-3", MISREAD[0])
    with session_scope(factory) as session:
        assert [i.text for i in review_queue(session)] == [FALLS_BACK[0].upper()]
        assert record_feedback(session, misread, "user-3", up=False)  # "not helpful"
    with session_scope(factory) as session:
        items = review_queue(session)
        assert [(i.key, i.count) for i in items] == [(FALLS_BACK[0].lower(), 2), (MISREAD[0], 1)]
        for item, (_, intent) in zip(items, (FALLS_BACK, MISREAD), strict=True):
            label(session, item, intent=intent, staff_id="e2e-staff",
                  now=dt.datetime.now(dt.timezone.utc))

    root = copy_project(tmp_path_factory.mktemp("retrain-promote"))
    progress: list[str] = []
    with contextlib.ExitStack() as during_swap:
        flows: list[Traffic] = []

        def report(line: str) -> None:
            progress.append(line)
            print(f"[retrain e2e] {time.strftime('%H:%M:%S')} {line}")
            if line.startswith("Promoting"):
                flows.append(during_swap.enter_context(chats(front.url)))

        started = time.monotonic()
        outcome = retrain(factory, rasa_url=front.url, staff_id="e2e-staff", root=root,
                          heldout=HELDOUT, tolerance=0.01, progress=report)
    print(f"[retrain e2e] retrain + promotion in {time.monotonic() - started:.0f} s: "
          f"{outcome.action}; {outcome.before} -> {outcome.after}")
    traffic = flows[0] if flows else Traffic(front.url)
    print(f"[retrain e2e] chats during the swap: {traffic.summary()}")
    return Promotion(outcome, root, progress, traffic)


def test_labelled_messages_are_understood_after_a_promotion(service: Service,
                                                            promoted: Promotion) -> None:
    outcome, root = promoted.outcome, promoted.root
    assert outcome.action == "promote", outcome.reasons
    assert outcome.export is not None and len(outcome.export.added) == 2
    written = load_examples((root / "nlu_data" / "nlu" / "reviewed.yml").read_text())
    assert sorted((e.text, e.intent) for e in written) == sorted((FALLS_BACK, MISREAD))
    assert httpx.get(f"{service.front.url}/status").json()["model_file"] == outcome.candidate
    for text, intent in (FALLS_BACK, MISREAD):
        assert parse(service.front, text)["intent"]["name"] == intent, text
    assert model.model_path(root).name == outcome.candidate  # make run would start with it
    assert any(line.startswith("training: CRFEntityExtractor") for line in promoted.progress)
    assert promoted.progress[-1].startswith(f"Done: {outcome.candidate} is in service (beside)")
    with session_scope(service.factory) as session:
        [row] = model_actions(session)
        assert (row.action, row.model_file, row.previous_model, row.staff_id) == (
            "promote", outcome.candidate, service.base.name, "e2e-staff")
        assert row.scores_before and row.scores_after and len(row.reasons) == 3


def test_messages_during_the_swap_are_all_answered(service: Service,
                                                  promoted: Promotion) -> None:
    assert promoted.outcome.action == "promote" and service.front.swaps >= 1
    promoted.traffic.assert_all_answered()


def test_a_model_trained_on_damaged_data_is_not_promoted(
        service: Service, promoted: Promotion, tmp_path_factory: pytest.TempPathFactory) -> None:
    root = copy_project(tmp_path_factory.mktemp("retrain-damaged"))
    keep = {"greet.yml", "find_hub.yml", "regex.yml", "lookups.yml", "synonyms.yml"}
    for path in (root / "nlu_data" / "nlu").glob("*.yml"):
        if path.name not in keep:
            path.unlink()  # most intents lose all their examples
    serving = httpx.get(f"{service.front.url}/status").json()["model_file"]
    started = time.monotonic()
    outcome = retrain(service.factory, rasa_url=service.front.url, staff_id="e2e-staff",
                      root=root, heldout=HELDOUT, export=False, progress=lambda line: None)
    print(f"[retrain e2e] damaged data refused in {time.monotonic() - started:.0f} s: "
          f"{outcome.before} -> {outcome.after}")
    assert outcome.action == "refuse"
    assert any(reason.startswith("intent accuracy") for reason in outcome.reasons)
    assert httpx.get(f"{service.front.url}/status").json()["model_file"] == serving
    assert model.read_registry(root)["model"] == serving  # make run keeps the model in service
    with session_scope(service.factory) as session:
        latest = model_actions(session)[0]
        assert (latest.action, latest.model_file, latest.previous_model) == (
            "refuse", outcome.candidate, serving)


def test_rollback_brings_the_previous_model_back(service: Service, promoted: Promotion) -> None:
    swaps = service.front.swaps
    started = time.monotonic()
    with chats(service.front.url) as traffic:
        outcome = rollback(service.factory, rasa_url=service.front.url, staff_id="e2e-staff",
                           root=promoted.root, progress=lambda line: None)
    print(f"[retrain e2e] rollback in {time.monotonic() - started:.0f} s; chats: "
          f"{traffic.summary()}")
    assert outcome.serving == service.base.name and service.front.swaps == swaps + 1
    assert httpx.get(f"{service.front.url}/status").json()["model_file"] == service.base.name
    assert parse(service.front, FALLS_BACK[0])["intent"]["name"] == "nlu_fallback"  # old again
    traffic.assert_all_answered()
    with session_scope(service.factory) as session:
        latest = model_actions(session)[0]
        assert (latest.action, latest.model_file) == ("rollback", service.base.name)
        assert latest.scores_after == model_actions(session)[-1].scores_before
