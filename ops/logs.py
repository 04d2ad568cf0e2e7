"""The servers' log files rotate and age out: they may hold what people wrote (Rasa's REST
channel logs a message's text when its turn fails), so nothing stays longer than
LOG_RETENTION_DAYS (default 14).

    python -m ops.logs          rotate and age out var/log now (`make run` does it hourly)

Each `*.log` under the folder (subfolders included: a promoted model's server logs to
var/log/rasa-N/) is copied to `NAME.log.YYYYMMDD-HHMMSS` and emptied once a day, or sooner when it
grows past MAX_BYTES; the servers keep writing to it (they opened it for appending). A copy is
deleted LOG_RETENTION_DAYS after it was made, and a log nobody wrote to for that long is
emptied.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from npq.settings import Settings
from ops.paths import ROOT

log = logging.getLogger(__name__)
MAX_BYTES = 20 * 1024 * 1024
ROTATE_EVERY = dt.timedelta(days=1)
CHECK_EVERY = 3600.0  # seconds between checks while `make run` runs
STAMP = "%Y%m%d-%H%M%S"


@dataclass
class Tidied:
    rotated: list[Path] = field(default_factory=list)  # the copies made
    deleted: list[Path] = field(default_factory=list)  # copies past the retention
    emptied: list[Path] = field(default_factory=list)  # logs nobody wrote to for that long


def _copies(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f"{path.name}.*"))


def _mtime(path: Path) -> dt.datetime:
    return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.timezone.utc)


def tidy(folder: Path, now: dt.datetime, *, days: int, max_bytes: int = MAX_BYTES) -> Tidied:
    """Rotate the logs under `folder` that are due, then delete what is past `days`."""
    done = Tidied()
    if not folder.is_dir():
        return done
    cutoff = now - dt.timedelta(days=days)
    for path in sorted(folder.rglob("*.log")):
        size = path.stat().st_size
        if size == 0:
            continue
        if _mtime(path) < cutoff:  # nobody writes here any more (an old model's server)
            os.truncate(path, 0)
            done.emptied.append(path)
            continue
        copies = _copies(path)
        last = _mtime(copies[-1]) if copies else None
        if size > max_bytes or last is None or now - last >= ROTATE_EVERY:
            copy = path.with_name(f"{path.name}.{now:{STAMP}}")
            shutil.copyfile(path, copy)
            os.utime(copy, (now.timestamp(), now.timestamp()))  # when it was rotated
            os.truncate(path, 0)
            done.rotated.append(copy)
    for copy in sorted(folder.rglob("*.log.*")):
        if _mtime(copy) < cutoff:
            copy.unlink()
            done.deleted.append(copy)
    return done


def keep_tidy(folder: Path, days: int) -> threading.Event:
    """Tidy `folder` now and every CHECK_EVERY seconds in a daemon thread; set the returned
    event to stop."""
    stop = threading.Event()

    def run() -> None:
        while True:
            try:
                tidy(folder, dt.datetime.now(dt.timezone.utc), days=days)
            except OSError as error:
                log.warning("could not rotate the logs in %s: %s", folder, error)
            if stop.wait(CHECK_EVERY):
                return

    threading.Thread(target=run, name="log-rotation", daemon=True).start()
    return stop


def main() -> int:
    days = Settings.from_env().log_retention_days
    folder = Path(os.environ.get("NPQ_VAR_DIR") or ROOT / "var") / "log"
    done = tidy(folder, dt.datetime.now(dt.timezone.utc), days=days)
    print(f"{folder}: {len(done.rotated)} rotated, {len(done.deleted)} older than {days} days "
          f"deleted, {len(done.emptied)} unused emptied")
    return 0


if __name__ == "__main__":
    sys.exit(main())
