"""The running stack for whole-system tests: the Rasa server with the trained model and the
action server, on free loopback ports, over a copy of the seeded database.

The model is trained here when models/ lacks the one for the current inputs (`make model`'s
`ops.model ensure`, once per run: under pytest-xdist the first worker that needs it trains and
the others wait on a lock), so `pytest tests/e2e/test_dialogue.py` works on a fresh clone.
Modules that need the model without the shared stack say so with
`pytest.mark.usefixtures("trained_model")`.

One `stack` is shared by every test that asks for it; tests/conftest.py keeps those tests on
one pytest-xdist worker (group "stack"), so it is started once per run."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ops.model import MODELS, model_path
from ops.paths import APP_PYTHON, ROOT
from ops.ports import free_port
from ops.stack import Stack


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The model to serve for the current inputs, trained first if models/ lacks it."""
    MODELS.mkdir(exist_ok=True)
    with (MODELS / ".ensure.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another worker training: wait for its model
        try:
            if not model_path().exists():
                log = tmp_path_factory.getbasetemp() / "train-model.log"
                started = time.monotonic()
                done = subprocess.run([str(APP_PYTHON), "-m", "ops.model", "ensure"], cwd=ROOT,
                                      stdout=log.open("w"), stderr=subprocess.STDOUT)
                assert done.returncode == 0, f"training failed; see {log}"
                print(f"\n[e2e] model trained in {time.monotonic() - started:.0f} s "
                      f"(log: {log})", file=sys.stderr)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    model = model_path()
    assert model.exists(), f"no trained model at {model}: run `make model`"
    return model


@pytest.fixture(scope="session")
def stack_database(tmp_path_factory: pytest.TempPathFactory, seeded_sqlite_file: Path) -> Path:
    database = tmp_path_factory.mktemp("stack") / "npq.db"
    shutil.copyfile(seeded_sqlite_file, database)
    return database


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, stack_database: Path,
          trained_model: Path) -> Iterator[Stack]:
    """One stack for every end-to-end test that can share it (loading TensorFlow and the model
    takes a while); with TEST_REDIS_URL, Rasa uses the Redis lock store there."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{stack_database}"}
    if os.environ.get("TEST_REDIS_URL"):
        env["REDIS_URL"] = os.environ["TEST_REDIS_URL"]
    with Stack(rasa_port=free_port(), action_port=free_port(), model=trained_model,
               log_dir=tmp_path_factory.mktemp("log"), env=env) as running:
        yield running


@pytest.fixture(autouse=True)
def _stack_running_after(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test of the shared stack, both of its servers run again: a test that stops one
    (tests/e2e/test_telegram_resilience.py) and fails before starting it again must not fail
    the tests after it. Started from this (the main) thread, and waited for by readiness."""
    yield
    if "stack" not in request.fixturenames:
        return
    stack: Stack = request.getfixturevalue("stack")
    stopped = [name for name in ("actions", "rasa")
               if name not in stack.processes or stack.processes[name].poll() is not None]
    for name in stopped:
        stack.processes.pop(name, None)
        stack.start_server(name)
    if stopped:
        stack.wait_ready()
