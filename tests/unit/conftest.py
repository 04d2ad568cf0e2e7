"""Fixtures for the bot's unit tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture
def database(seeded_sqlite_file: Path, tmp_path: Path) -> str:
    """A URL for this test's own copy of the seeded SQLite database."""
    copy = tmp_path / "npq.db"
    shutil.copyfile(seeded_sqlite_file, copy)
    return f"sqlite:///{copy}"
