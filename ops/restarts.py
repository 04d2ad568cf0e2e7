"""The `make run` supervisor's restart policy: a server that stops is started again.

When the action server or the Rasa server exits (a crash, an out-of-memory kill, SIGKILL), the
supervisor logs one clear line, waits, and starts it again on the same port, while the bot stays
up (it keeps the messages that arrive meanwhile and answers them once both answer again). The
wait doubles with each restart in a row (1 s, 2 s, 4 s ... at most 60 s) and starts again from
1 s once a server has run for two minutes, so a server that cannot start is not hammered.

    restarter = Restarter()
    while bot.poll() is None:
        restarter.check(stack)      # each server of a Stack: restart what has exited, when due
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

FIRST_DELAY = 1.0
MAX_DELAY = 60.0
STABLE_AFTER = 120.0  # a server that ran this long is healthy again: the backoff starts over
NAMES = {"actions": "action server", "rasa": "Rasa server"}


class Servers(Protocol):
    """What the restarter needs of ops.stack.Stack."""

    processes: dict[str, subprocess.Popen[bytes]]
    log_dir: Path

    def start_server(self, name: str) -> None: ...


@dataclass
class _Record:
    failures: int = 0  # restarts in a row
    started: float = 0.0
    due: float | None = None  # when the pending restart is due


@dataclass
class Restarter:
    clock: Callable[[], float] = time.monotonic
    say: Callable[[str], None] = print
    first_delay: float = FIRST_DELAY
    max_delay: float = MAX_DELAY
    stable_after: float = STABLE_AFTER
    restarts: int = 0  # since the supervisor started
    _records: dict[tuple[int, str], _Record] = field(default_factory=dict)

    def delay(self, failures: int) -> float:
        return float(min(self.max_delay, self.first_delay * 2 ** max(0, failures - 1)))

    def check(self, stack: Servers) -> None:
        """Restart, when due, each server of `stack` that has exited."""
        now = self.clock()
        for name, process in list(stack.processes.items()):
            record = self._records.setdefault((id(stack), name), _Record(started=now))
            code = process.poll()
            if code is None:
                continue
            what = NAMES.get(name, name)
            if record.due is None:  # just seen stopped
                if now - record.started >= self.stable_after:
                    record.failures = 0
                record.failures += 1
                wait = self.delay(record.failures)
                record.due = now + wait
                self.say(f"==> the {what} stopped (exit code {code}); restarting it in "
                         f"{wait:.0f} s (restart {record.failures} in a row; see "
                         f"{stack.log_dir / (name + '.log')}); the bot stays up and keeps "
                         f"messages meanwhile")
                continue
            if now < record.due:
                continue
            try:
                stack.start_server(name)
            except Exception as error:  # the port still taken, say: try again later
                record.failures += 1
                wait = self.delay(record.failures)
                record.due = now + wait
                self.say(f"==> could not restart the {what} ({error}); trying again in "
                         f"{wait:.0f} s")
                continue
            record.started, record.due = now, None
            self.restarts += 1
            self.say(f"==> the {what} restarted (pid {stack.processes[name].pid})")
