"""Retrain the model from what staff labelled, behind a quality gate, and roll back.

    python -m ops.retrain            write labelled messages to nlu_data (ops.training_data),
                                     train a candidate, measure it and the model in service on
                                     the held-out messages, promote it only if it is not worse,
                                     then load it into the running Rasa server (make retrain)
    python -m ops.retrain rollback     put the model in service before the last one back
    python -m ops.retrain history      the latest promotions, refusals and rollbacks

The running Rasa server is RASA_URL (as for the bot; `--rasa-url` overrides). The gate compares
intent accuracy, macro F1 and entity F1 on tests/nlu/heldout.yml (never trained on, never
written): the candidate is promoted unless one of them is lower than the model in service's by
more than RETRAIN_TOLERANCE (default 0.01). The model in service is measured through the running
server's POST /model/parse, the candidate through a temporary Rasa server on a free loopback
port, both with ops.evaluation's metrics. Promotion loads the model with PUT /model: Rasa
itself answers nothing while it loads one (about 25 s here), so the assistant's Rasa should sit
behind ops/rasa_front.py, which starts the new model beside the old one and switches when it
is ready. Every promotion, refusal and rollback goes to the model_promotions table with who and
the scores, and models/serving.json records the model in service so `make run` starts with it.

One retrain or rollback at a time: an exclusive lock on models/.retrain.lock (flock, so it also
holds across processes; the kernel releases it if the holder dies).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import fcntl
import getpass
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy.orm import Session, sessionmaker

from npq.db import make_engine, make_session_factory, session_scope
from npq.db.models import ModelPromotion
from npq.model_history import known_scores, log_model_action, model_actions
from npq.settings import Settings
from ops import model
from ops.evaluation import HELDOUT, Report, evaluate, fallback_threshold, load_examples
from ops.gate import TOLERANCE, Scores, gate, tolerance_from_env
from ops.nlu_report import format_report
from ops.paths import RASA, ROOT
from ops.ports import free_port
from ops.rasa_front import SWAP_HEADER
from ops.stack import Stack, StackError
from ops.training_data import DataInvalid, Export, export_reviewed

LOCK_FILE = ".retrain.lock"
LOAD_TIMEOUT = 900.0  # PUT /model: a new server beside the old one takes about a minute here
COMPONENT = re.compile(r"Starting to train component '(\w+)'")
Progress = Callable[[str], None]


class RetrainError(Exception):
    """Retraining or rolling back could not go ahead; the message says why, for staff."""


class RetrainBusy(RetrainError):
    """Another retrain or rollback holds the lock."""


# --- One at a time ------------------------------------------------------------------------------

@contextlib.contextmanager
def exclusive(models_dir: Path, holder: str) -> Iterator[None]:
    """Hold models/.retrain.lock, or raise RetrainBusy naming who holds it."""
    models_dir.mkdir(parents=True, exist_ok=True)
    with open(models_dir / LOCK_FILE, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            raise RetrainBusy(f"A retrain or rollback is already running "
                              f"({lock.read().strip() or 'holder unknown'}).") from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"{holder}, pid {os.getpid()}, since {dt.datetime.now():%H:%M}")
        lock.flush()
        try:
            yield
        finally:
            lock.truncate(0)
            fcntl.flock(lock, fcntl.LOCK_UN)


# --- Training, measuring, loading ---------------------------------------------------------------

def train_candidate(root: Path, out: Path, progress: Progress, *, log: Path,
                    rasa: Path = RASA, timeout: float = model.TRAIN_TIMEOUT) -> float:
    """`rasa train` in the engine environment, relaying which component it trains; the full
    output goes to `log`. Returns the seconds it took."""
    started = time.monotonic()
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as output, subprocess.Popen(
            model.train_command(out, rasa), cwd=root, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, errors="replace") as process:
        assert process.stdout is not None
        watchdog = threading.Timer(timeout, process.kill)  # a stuck training is stopped
        watchdog.start()
        try:
            for line in process.stdout:
                output.write(line)
                if found := COMPONENT.search(line):
                    progress(f"training: {found[1]}")
        finally:
            watchdog.cancel()
    if process.returncode != 0 and time.monotonic() - started >= timeout:
        raise RetrainError(f"Training did not finish within {timeout:.0f} s; see {log}")
    if process.returncode != 0 or not out.exists():
        tail = log.read_text().splitlines()[-5:]
        raise RetrainError(f"Training failed (exit code {process.returncode}); see {log}: "
                           + " | ".join(tail))
    return time.monotonic() - started


def measure(rasa_url: str, heldout: Path, config: Path, token: str | None = None) -> Report:
    """The held-out report of the model a Rasa server runs (ops.evaluation's figures);
    `token`: its --auth-token (none through the front, which adds it)."""
    examples = load_examples(heldout.read_text())
    with httpx.Client(base_url=rasa_url, timeout=60.0,
                      params={"token": token} if token else None) as client:
        parses = [client.post("/model/parse", json={"text": e.text}).raise_for_status().json()
                  for e in examples]
    return evaluate(examples, parses, fallback_threshold(config.read_text()))


def serving_model(rasa_url: str) -> str:
    """The file name of the model the Rasa server at rasa_url runs (GET /status)."""
    try:
        status = httpx.get(f"{rasa_url}/status", timeout=10.0)
        status.raise_for_status()
        return str(status.json()["model_file"])
    except (httpx.HTTPError, ValueError, KeyError) as error:
        raise RetrainError(f"The assistant's Rasa server at {rasa_url} does not answer "
                           f"({type(error).__name__}); is it running (make run)?") from error


def load_into_service(rasa_url: str, model_file: Path) -> str:
    """PUT /model, then check GET /status names it. Returns how: "beside" when a RasaFront
    started it next to the old server (no pause), "in place" when Rasa loaded it itself (Rasa
    answers nothing while it loads: about 25 s here)."""
    try:
        response = httpx.put(f"{rasa_url}/model", json={"model_file": str(model_file.resolve())},
                             timeout=LOAD_TIMEOUT)
    except httpx.HTTPError as error:
        raise RetrainError(f"Loading {model_file.name} failed: {error}") from error
    if response.status_code != 204:
        raise RetrainError(f"Rasa refused {model_file.name}: {response.status_code} "
                           f"{response.text[:300]}")
    if serving_model(rasa_url) != model_file.name:
        raise RetrainError(f"Rasa still runs another model than {model_file.name}")
    return str(response.headers.get(SWAP_HEADER, "in place"))


def scratch_server(model_file: Path, log_dir: Path, env: Mapping[str, str] | None = None) -> Stack:
    """A Rasa server alone (no action server, its own tracker file) to measure a model with;
    started, not yet ready: call wait_ready(), then stop()."""
    tracker = log_dir / "tracker.db"
    environment = {**(env or os.environ), "TRACKER_STORE_URL": f"sqlite:///{tracker}"}
    stack = Stack(rasa_port=free_port(), action_port=free_port(), model=model_file,
                  log_dir=log_dir, env=environment)
    stack.start_server("rasa")
    return stack


# --- Retrain and roll back ----------------------------------------------------------------------

@dataclass
class Outcome:
    action: str  # promote | refuse | unchanged | rollback
    serving: str  # the model in service afterwards
    candidate: str | None = None
    before: Scores | None = None
    after: Scores | None = None
    reasons: tuple[str, ...] = ()
    export: Export | None = None
    reports: dict[str, Report] = field(default_factory=dict)  # "before"/"after" held-out


def _registry(root: Path, *, serving: str, history: list[str]) -> None:
    model.write_registry(model.Registry(model=serving, inputs=model.fingerprint(root),
                                        history=history[-20:]), root)


def retrain(factory: sessionmaker[Session], *, rasa_url: str, staff_id: str,
            progress: Progress = print, root: Path = ROOT, heldout: Path = HELDOUT,
            tolerance: float = TOLERANCE, export: bool = True,
            clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc),
            ) -> Outcome:
    """Write what staff labelled into root/nlu_data, train a candidate, gate it against the
    model the Rasa server at rasa_url runs, and put it in service if it passes. `progress`
    gets short messages for people (from this thread). Raises RetrainError (RetrainBusy,
    DataInvalid's errors, training failures) with a message for staff."""
    models_dir = root / "models"
    with exclusive(models_dir, staff_id):
        serving = serving_model(rasa_url)
        written = None
        if export:
            progress("Writing the labelled messages to the training data and checking it "
                     "with Rasa...")
            try:
                with session_scope(factory) as session:
                    written = export_reviewed(session, root=root, heldout=heldout)
            except DataInvalid as invalid:
                raise RetrainError("Rasa found errors in the training data (left as it was): "
                                   + "; ".join(invalid.errors)) from invalid
            progress(f"{len(written.added)} new example(s), {len(written.skipped)} left out.")
        candidate = model.trained_model_path(root)
        if candidate.name == serving:
            progress(f"Nothing new to learn: {serving} was trained on this data.")
            return Outcome("unchanged", serving, export=written)
        if candidate.exists():
            progress(f"{candidate.name} was already trained on this data; measuring it.")
        else:
            progress("Training a candidate model (about 2 minutes)...")
            seconds = train_candidate(root, candidate, progress,
                                      log=root / "var" / "log" / "retrain-train.log")
            progress(f"Trained {candidate.name} in {seconds:.0f} s.")
        before_report, after_report = _measure_both(rasa_url, candidate, root, heldout, progress)
        before, after = Scores.of(before_report), Scores.of(after_report)
        decision = gate(before, after, tolerance)
        progress(f"In service ({serving}): {before}\nCandidate ({candidate.name}): {after}")
        history = model.read_registry(root).history
        outcome = Outcome("promote" if decision.promote else "refuse", serving, candidate.name,
                          before, after, decision.reasons, written,
                          {"before": before_report, "after": after_report})
        if decision.promote:
            progress(f"Promoting {candidate.name}; putting it in service...")
            how = load_into_service(rasa_url, candidate)
            outcome.serving = candidate.name
            _registry(root, serving=candidate.name, history=[*history, serving])
            progress(f"Done: {candidate.name} is in service ({how}).")
        else:
            _registry(root, serving=serving, history=history)  # make run keeps it too
            progress("Not promoted: " + "; ".join(decision.reasons) + f". {serving} stays.")
        with session_scope(factory) as session:
            log_model_action(session, action=outcome.action, model_file=candidate.name,
                             previous_model=serving, staff_id=staff_id,
                             scores_before=before.as_dict(), scores_after=after.as_dict(),
                             reasons=decision.reasons, now=clock())
        return outcome


def _measure_both(rasa_url: str, candidate: Path, root: Path, heldout: Path,
                  progress: Progress) -> tuple[Report, Report]:
    config = root / "config.yml"
    count = len(load_examples(heldout.read_text()))
    with tempfile.TemporaryDirectory(prefix="npq-candidate-") as scratch:
        server = scratch_server(candidate, Path(scratch))  # loads while we measure the other
        try:
            progress(f"Measuring the model in service on {count} held-out messages...")
            before = measure(rasa_url, heldout, config)
            progress("Measuring the candidate (starting a temporary Rasa server)...")
            server.wait_ready()
            after = measure(server.rasa_url, heldout, config, server.rasa_token)
        except StackError as error:
            kept = root / "var" / "log" / "retrain-candidate.log"
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(scratch) / "rasa.log", kept)
            raise RetrainError(f"The candidate would not load; see {kept}") from error
        finally:
            server.stop()
    return before, after


def rollback(factory: sessionmaker[Session], *, rasa_url: str, staff_id: str,
             progress: Progress = print, root: Path = ROOT,
             clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc),
             ) -> Outcome:
    """Put the model in service before the current one back (models/serving.json's history)."""
    models_dir = root / "models"
    with exclusive(models_dir, staff_id):
        serving = serving_model(rasa_url)
        history = model.read_registry(root).history
        while history and not (models_dir / history[-1]).is_file():
            progress(f"{history.pop()} is no longer in {models_dir}; skipping it.")
        if not history:
            raise RetrainError("There is no earlier model to go back to.")
        target = history.pop()
        progress(f"Rolling back from {serving} to {target}...")
        how = load_into_service(rasa_url, models_dir / target)
        _registry(root, serving=target, history=history)
        with session_scope(factory) as session:
            before, after = known_scores(session, serving), known_scores(session, target)
            log_model_action(session, action="rollback", model_file=target,
                             previous_model=serving, staff_id=staff_id, scores_before=before,
                             scores_after=after, reasons=[f"rolled back from {serving}"],
                             now=clock())
        progress(f"Done: {target} is in service again ({how}).")
        return Outcome("rollback", target, target, reasons=(f"rolled back from {serving}",))


def format_history(rows: list[ModelPromotion]) -> str:
    """The model log, newest first, one line each."""
    if not rows:
        return "No model has been promoted, refused or rolled back yet."

    def scores(values: dict[str, float] | None) -> str:
        return "?" if not values else "/".join(f"{values[k]:.3f}" for k in Scores.LABELS
                                               if k in values)
    return "\n".join(
        f"{row.created_at:%Y-%m-%d %H:%M} {row.action:<8} {row.model_file} by {row.staff_id} "
        f"(was {row.previous_model}; acc/macroF1/entF1 {scores(row.scores_before)} -> "
        f"{scores(row.scores_after)})" for row in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.retrain", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", choices=("retrain", "rollback", "history"),
                        default="retrain")
    parser.add_argument("--staff", default=f"terminal:{getpass.getuser()}",
                        help="who is doing this (recorded in model_promotions)")
    parser.add_argument("--rasa-url", help="the running Rasa server (default: RASA_URL)")
    parser.add_argument("--report", action="store_true",
                        help="also print both held-out reports in full")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    rasa_url = (args.rasa_url or settings.rasa_url).rstrip("/")
    try:
        if args.command == "history":
            with session_scope(factory) as session:
                print(format_history(model_actions(session, limit=20)))
            return 0
        if args.command == "rollback":
            rollback(factory, rasa_url=rasa_url, staff_id=args.staff)
            return 0
        outcome = retrain(factory, rasa_url=rasa_url, staff_id=args.staff,
                          tolerance=tolerance_from_env(os.environ))
        if args.report and outcome.reports:
            for which, report in outcome.reports.items():
                measured = outcome.serving if which == "before" else outcome.candidate
                print(f"\n=== {which}: {measured}")
                print(format_report(report))
        print(json.dumps({"action": outcome.action, "serving": outcome.serving,
                          "candidate": outcome.candidate,
                          "before": outcome.before.as_dict() if outcome.before else None,
                          "after": outcome.after.as_dict() if outcome.after else None}))
        return 0 if outcome.action != "refuse" else 3
    except RetrainError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
