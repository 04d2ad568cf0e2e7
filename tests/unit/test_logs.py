"""The servers' logs (ops/logs.py) rotate daily or when large, and age out after
LOG_RETENTION_DAYS: they may hold what people wrote."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from ops.logs import tidy

NOW = dt.datetime(2027, 6, 1, 9, 0, tzinfo=dt.timezone.utc)


def at(path: Path, moment: dt.datetime) -> Path:
    os.utime(path, (moment.timestamp(), moment.timestamp()))
    return path


def test_logs_rotate_daily_and_the_copies_go_after_the_retention(tmp_path: Path) -> None:
    rasa = tmp_path / "rasa.log"
    rasa.write_text("rest.message.received.failure text='my email is sam@school.org'\n")
    at(rasa, NOW)
    first = tidy(tmp_path, NOW, days=14)
    [copy] = first.rotated
    assert copy.read_text().startswith("rest.message.received.failure")
    assert rasa.read_text() == ""  # emptied in place: Rasa keeps appending to it

    rasa.write_text("later line\n")
    at(rasa, NOW + dt.timedelta(hours=5))
    assert tidy(tmp_path, NOW + dt.timedelta(hours=5), days=14).rotated == []  # not a day yet
    second = tidy(tmp_path, NOW + dt.timedelta(days=1), days=14)
    assert len(second.rotated) == 1 and copy.exists()
    at(rasa, NOW + dt.timedelta(days=14))  # still written to

    late = tidy(tmp_path, NOW + dt.timedelta(days=14, hours=1), days=14)
    assert late.deleted == [copy]  # the first copy is past 14 days; the second is not
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rasa.log", second.rotated[0].name]


def test_a_large_log_rotates_at_once_and_an_unused_one_is_emptied(tmp_path: Path) -> None:
    actions = tmp_path / "actions.log"
    actions.write_text("x" * 100)
    at(actions, NOW)
    tidy(tmp_path, NOW, days=14)
    actions.write_text("y" * 100)
    at(actions, NOW + dt.timedelta(hours=1))
    assert len(tidy(tmp_path, NOW + dt.timedelta(hours=1), days=14, max_bytes=50).rotated) == 1

    old_server = tmp_path / "rasa-2" / "rasa.log"  # a model swapped out weeks ago
    old_server.parent.mkdir()
    old_server.write_text("what someone asked\n")
    at(old_server, NOW - dt.timedelta(days=20))
    assert tidy(tmp_path, NOW, days=14).emptied == [old_server]
    assert old_server.read_text() == ""


def test_no_log_folder_is_nothing_to_do(tmp_path: Path) -> None:
    done = tidy(tmp_path / "missing", NOW, days=14)
    assert (done.rotated, done.deleted, done.emptied) == ([], [], [])
