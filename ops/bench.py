"""What the benchmarks share (ops/bench_load.py, ops/bench_rasa.py): everyday questions, a
private copy of the seeded database, percentiles, the resident memory of a process tree, and a
sampling profile of the Rasa server with py-spy.

Benchmarks print figures; no test asserts a time.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import shutil
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from npq.settings import Settings
from ops.paths import ROOT

# What people ask every day: each is answered outright, with buttons (tests/nlu/heldout.yml has
# the same kinds of question; none of these is in nlu_data).
QUESTIONS = (
    "is there a hub near Leeds",
    "where is my nearest hub? I'm in Bradford",
    "when is the deadline for NPQH",
    "what deadlines are coming up",
    "what is NPQSL about",
    "how long does the NPQ for senior leadership take",
    "which NPQs do you offer",
    "is NPQLT funded",
    "how much does NPQSENCO cost",
    "how do I apply for an NPQ",
    "what's the difference between NPQSL and NPQH",
    "hubs near Manchester",
    "tell me about the early years NPQ",
    "when does NPQLTD start",
    "how is the NPQ assessed",
    "how can my school become a delivery partner",
)
PAGE = os.sysconf("SC_PAGE_SIZE")


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (`share` in 0..1) of `values`; inf counts as never."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def seconds(value: float) -> str:
    if math.isnan(value):
        return "-"
    if math.isinf(value):
        return "never"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.1f} s"


def database_copy(folder: Path) -> str:
    """A copy of the seeded SQLite database (`make db`) in `folder`, so a benchmark's
    conversations and message log stay out of var/."""
    source = Settings.from_env().database_url
    if not source.startswith("sqlite:///"):
        raise SystemExit("the benchmarks copy the seeded SQLite database; unset DATABASE_URL")
    shutil.copyfile(source.removeprefix("sqlite:///"), folder / "npq.db")
    return f"sqlite:///{folder / 'npq.db'}"


def tree(root: int) -> list[int]:
    """`root` and every process descended from it."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def rss(pids: Sequence[int]) -> int:
    """The resident memory of `pids`, summed (bytes)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    return total


def pss(pids: Sequence[int]) -> int:
    """The proportional memory of `pids`, summed (bytes): each page shared by several processes
    (the Rasa servers' libraries) counted once in all, unlike RSS."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
                    break
    return total


TICKS = os.sysconf("SC_CLK_TCK")
ROLES = (("rasa_components.serve run", "Rasa"), ("-m actions", "action server"), ("-m bot", "bot"),
         ("ops.supervisor", "supervisor and front"))


def by_role(pids: Sequence[int], measure: Callable[[Sequence[int]], float]) -> dict[str, float]:
    """`measure` (cpu_seconds, rss, pss) per part of the stack (the Rasa servers together)."""
    roles: dict[str, float] = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            role = next((name for words, name in ROLES if words in command), "other")
            roles[role] = roles.get(role, 0.0) + measure([pid])
    return roles


def cpu_seconds(pids: Sequence[int]) -> float:
    """The CPU time (user and system) `pids` have used so far, summed: unlike a latency, it
    does not depend on what else the machine is running."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def find(root: int, words: str) -> int | None:
    """The first process under `root` whose command line contains `words`."""
    for pid in tree(root):
        with contextlib.suppress(OSError):
            if words in Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode():
                return pid
    return None


class PeakMemory:
    """Samples the whole process tree's resident memory twice a second, in a thread."""

    def __init__(self, root: int) -> None:
        self.root, self.peak, self.peak_pss = root, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="peak-rss", daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.5):  # a sampling interval, not synchronisation
            pids = tree(self.root)
            self.peak = max(self.peak, rss(pids))
            self.peak_pss = max(self.peak_pss, pss(pids))

    def reset(self) -> None:
        pids = tree(self.root)
        self.peak, self.peak_pss = rss(pids), pss(pids)

    def __enter__(self) -> PeakMemory:
        self.reset()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def py_spy() -> str:
    found = shutil.which("py-spy", path=f"{ROOT / '.venv' / 'bin'}{os.pathsep}"
                                        f"{os.environ.get('PATH', '')}")
    if not found:
        raise SystemExit("PROFILE needs py-spy: .venv/bin/python -m pip install py-spy")
    return found


@contextlib.contextmanager
def profiling(pid: int | None, output: str | None, duration: float) -> Iterator[None]:
    """With `output`, sample `pid` with py-spy for `duration` seconds while the body runs:
    collapsed stacks in `output` (for speedscope or flamegraph.pl), a top table printed."""
    if not output or pid is None:
        yield
        return
    spy = subprocess.Popen([py_spy(), "record", "--pid", str(pid), "--format", "raw",
                            "--rate", "100", "--duration", str(max(1, int(duration))),
                            "--nonblocking", "--output", output],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield
    finally:
        _, errors = spy.communicate()
        if spy.returncode != 0:
            print(f"py-spy failed: {errors.decode(errors='replace')[-500:]}", file=sys.stderr)
        elif Path(output).exists():
            print(top_table(Path(output).read_text()))


FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def top_table(collapsed: str, rows: int = 15) -> str:
    """The functions most samples were in (inclusive) and ran (self), from py-spy's raw
    output: `frame;frame;... count` per line, frames `function (file:line)`."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [_name(frame) for frame in stack.split(";") if frame]
        total += int(count)
        for name in set(frames):
            inclusive[name] += int(count)
        if frames:
            own[frames[-1]] += int(count)
    if not total:
        return "py-spy recorded no samples"
    lines = [f"profile: {total} samples (frames in over 90% of them, the server's loop, left "
             "out)", "", "| inclusive | self | function |", "|---|---|---|"]
    for name, samples in [(n, c) for n, c in inclusive.most_common() if c < 0.9 * total][:rows]:
        lines.append(f"| {100 * samples / total:.0f}% | {100 * own[name] / total:.0f}% | {name} |")
    packages: Counter[str] = Counter()
    for name, samples in own.items():
        packages[_package(name)] += samples
    lines += ["", "| self | package |", "|---|---|"]
    lines += [f"| {100 * n / total:.0f}% | {name} |" for name, n in packages.most_common(rows)]
    return "\n".join(lines)


def _package(name: str) -> str:
    """`rasa/core/...` and `rasa/nlu/...` apart, otherwise the top-level package."""
    path = name.rpartition(" (")[2].rstrip(")")
    parts = path.split("/")
    if len(parts) == 1:
        return path
    return "/".join(parts[:2]) if parts[0] in ("rasa", "rasa_sdk") and len(parts) > 2 \
        else parts[0]


def _name(frame: str) -> str:
    match = FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = match["file"]
    for marker in ("site-packages/", "lib/python3.10/"):
        path = path.split(marker, 1)[-1]
    return f"{match['function']} ({path})"
