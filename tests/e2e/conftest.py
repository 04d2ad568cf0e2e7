"""The running stack for whole-system tests: the Rasa server with the trained model and the
action server, on free loopback ports, over a copy of the seeded database. Needs `make model`
(make test does it)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ops.model import model_path
from ops.ports import free_port
from ops.stack import Stack


@pytest.fixture(scope="session")
def stack_database(tmp_path_factory: pytest.TempPathFactory, seeded_sqlite_file: Path) -> Path:
    database = tmp_path_factory.mktemp("stack") / "npq.db"
    shutil.copyfile(seeded_sqlite_file, database)
    return database


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, stack_database: Path) -> Iterator[Stack]:
    """One stack for every end-to-end test (loading TensorFlow and the model takes a while)."""
    model = model_path()
    assert model.exists(), f"no trained model at {model}: run `make model` (make test does)"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{stack_database}"}
    with Stack(rasa_port=free_port(), action_port=free_port(), model=model,
               log_dir=tmp_path_factory.mktemp("log"), env=env) as running:
        yield running
