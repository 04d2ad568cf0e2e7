"""`make run` keeps going when a server dies: the supervisor restarts it with a growing wait and
says so in one line; every subprocess it or the staff tools run has a timeout."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ops import model, retrain, training_data
from ops.restarts import Restarter


@dataclass
class Clock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


def sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def killed(process: subprocess.Popen[bytes]) -> None:
    process.kill()
    process.wait()


@dataclass
class FakeStack:
    """A Stack's servers: real processes, `start_server` starts another sleeper."""

    log_dir: Path = Path("var/log")
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    started: list[str] = field(default_factory=list)

    def start_server(self, name: str) -> None:
        self.started.append(name)
        self.processes[name] = sleeper()

    def stop(self) -> None:
        for process in self.processes.values():
            killed(process)


@pytest.fixture
def stack() -> FakeStack:
    servers = FakeStack()
    servers.processes = {"actions": sleeper(), "rasa": sleeper()}
    yield servers
    servers.stop()


def test_a_killed_server_is_restarted_after_a_wait_with_a_clear_line(stack: FakeStack) -> None:
    clock, lines = Clock(), []
    restarter = Restarter(clock=clock, say=lines.append)
    restarter.check(stack)
    killed(stack.processes["actions"])
    restarter.check(stack)
    assert stack.started == []
    assert lines == [f"==> the action server stopped (exit code -9); restarting it in 1 s "
                     f"(restart 1 in a row; see {Path('var/log/actions.log')}); the bot stays "
                     f"up and keeps messages meanwhile"]
    clock.now += 1
    restarter.check(stack)
    assert stack.started == ["actions"]
    assert stack.processes["actions"].poll() is None
    assert lines[-1].startswith("==> the action server restarted (pid ")
    assert stack.processes["rasa"].poll() is None  # the other server was left alone


def test_restarts_in_a_row_wait_longer_and_a_server_that_ran_a_while_starts_over(
        stack: FakeStack) -> None:
    clock, lines = Clock(), []
    restarter = Restarter(clock=clock, say=lines.append)
    restarter.check(stack)
    waits = []
    for _ in range(4):  # it dies as soon as it is up
        killed(stack.processes["rasa"])
        restarter.check(stack)
        waits.append(lines[-1].split("restarting it in ")[1].split(" s")[0])
        clock.now += float(waits[-1])
        restarter.check(stack)
    assert waits == ["1", "2", "4", "8"]
    clock.now += 300  # then it ran for five minutes
    killed(stack.processes["rasa"])
    restarter.check(stack)
    assert "restarting it in 1 s (restart 1 in a row" in lines[-1]
    assert restarter.restarts == 4


def test_rasa_data_validate_has_a_timeout(monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path) -> None:
    stuck = tmp_path / "rasa"
    stuck.write_text("#!/bin/sh\nsleep 30\n")
    stuck.chmod(0o755)
    monkeypatch.setattr(training_data, "VALIDATE_TIMEOUT", 0.2)
    assert training_data.validate_data(tmp_path, rasa=stuck) == [
        "rasa data validate did not finish within 0 s"]


def test_training_has_a_timeout(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(model, "train_command", lambda out, rasa: ["sleep", "30"])
    monkeypatch.setattr(model, "TRAIN_TIMEOUT", 0.2)
    with pytest.raises(RuntimeError, match="did not finish within"):
        model.train(tmp_path / "model.tar.gz", root=tmp_path)
    with pytest.raises(retrain.RetrainError, match="did not finish within"):
        retrain.train_candidate(tmp_path, tmp_path / "model.tar.gz", lambda line: None,
                                log=tmp_path / "train.log", timeout=0.2)
