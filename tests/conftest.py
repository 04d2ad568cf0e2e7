"""Shared fixtures: databases migrated with Alembic and seeded from the shipped catalogue.

Database tests run on SQLite always and also on PostgreSQL when TEST_DATABASE_URL is set
(`.ci/run` sets it, and a PostgreSQL that is down then fails the run rather than skipping).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from npq.__main__ import CATALOGUE_DIR, migrate
from npq.catalogue import import_catalogue
from npq.db import make_engine, make_session_factory, session_scope

# tests/engine imports rasa: the engine's Python runs it (make test-engine), never this one.
collect_ignore = ["engine"]

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


@pytest.fixture(autouse=True, scope="session")
def _geo_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep the gazetteer cache out of the repository during tests."""
    os.environ.setdefault("NPQ_CACHE_DIR", str(tmp_path_factory.mktemp("geo-cache")))


def reset_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def seed(url: str) -> None:
    migrate(url)
    engine = make_engine(url)
    with session_scope(make_session_factory(engine)) as session:
        import_catalogue(session, [CATALOGUE_DIR])
    engine.dispose()


@pytest.fixture(scope="session")
def seeded_sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrated and seeded once; tests get copies."""
    path = tmp_path_factory.mktemp("template") / "npq.db"
    seed(f"sqlite:///{path}")
    return path


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database, on each backend under test."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'npq.db'}"
    url = os.environ["TEST_DATABASE_URL"]
    reset_postgres(url)
    return url


@pytest.fixture
def seeded_url(request: pytest.FixtureRequest, database_url: str, seeded_sqlite_file: Path,
               tmp_path: Path) -> str:
    """A migrated database holding the shipped catalogue."""
    if database_url.startswith("sqlite"):
        target = tmp_path / "seeded.db"
        shutil.copyfile(seeded_sqlite_file, target)
        return f"sqlite:///{target}"
    seed(database_url)
    return database_url


@pytest.fixture
def session_factory(seeded_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(seeded_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session
