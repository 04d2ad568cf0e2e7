"""The endpoints Rasa runs with: conversations in SQL (derived from DATABASE_URL), the Redis lock
store only when REDIS_URL is set, and no secret ever written to the rendered file."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest
import yaml

from npq.settings import Settings
from ops.stack import StackError, prepare_tracker_store, rasa_environment, render_endpoints


def rendered(env: dict[str, str]) -> tuple[dict[str, object], str, dict[str, str]]:
    settings = Settings.from_env(env)
    text = render_endpoints(settings)
    return yaml.safe_load(text), text, rasa_environment(settings)


def test_by_default_conversations_go_beside_the_sqlite_database_and_locks_stay_in_memory() -> None:
    endpoints, _, env = rendered({"DATABASE_URL": "sqlite:////srv/npq/npq.db"})
    assert endpoints["tracker_store"] == {"type": "SQL", "url": "${TRACKER_STORE_URL}"}
    assert endpoints["action_endpoint"] == {"url": "${ACTION_SERVER_URL}"}
    assert "lock_store" not in endpoints
    assert env == {"TRACKER_STORE_URL": "sqlite:////srv/npq/rasa-tracker.db"}


def test_postgresql_conversations_use_rasas_own_driver() -> None:
    _, _, env = rendered({"DATABASE_URL": "postgresql+psycopg://npq:pw@db.internal/npq"})
    assert env["TRACKER_STORE_URL"] == "postgresql://npq:pw@db.internal/npq"
    _, _, env = rendered({"DATABASE_URL": "postgresql://a@b/c",
                          "TRACKER_STORE_URL": "postgresql://rasa@other/conversations"})
    assert env["TRACKER_STORE_URL"] == "postgresql://rasa@other/conversations"


def test_redis_adds_a_lock_store_and_keeps_its_password_out_of_the_file() -> None:
    endpoints, text, env = rendered({"REDIS_URL": "rediss://:s3cr%40t@cache.internal:6380/2"})
    assert endpoints["lock_store"] == {
        "type": "redis", "url": "cache.internal", "port": 6380, "db": 2, "key_prefix": "npq",
        "use_ssl": True, "password": "${NPQ_LOCK_STORE_PASSWORD}"}
    assert "s3cr" not in text and env["NPQ_LOCK_STORE_PASSWORD"] == "s3cr@t"


def test_a_malformed_redis_url_is_refused() -> None:
    with pytest.raises(StackError):
        rendered({"REDIS_URL": "localhost:6379"})


def test_an_sqlite_tracker_store_is_in_write_ahead_log_mode(tmp_path: Path) -> None:
    """Rasa commits every turn inside its event loop: in WAL mode a commit waits for one disk
    sync instead of several (ops/stack.py's prepare_tracker_store)."""
    path = tmp_path / "var" / "rasa-tracker.db"
    prepare_tracker_store(f"sqlite:///{path}")
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    prepare_tracker_store("postgresql://npq@db.internal/npq")  # nothing to prepare there
