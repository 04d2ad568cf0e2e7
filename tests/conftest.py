"""Shared fixtures: databases migrated with Alembic and seeded from the shipped catalogue.

Database tests run on SQLite always and also on PostgreSQL when TEST_DATABASE_URL is set
(`.ci/run` sets it, and a PostgreSQL that is down then fails the run rather than skipping).

On PostgreSQL each test process (one, or each pytest-xdist worker) has databases of its own on
TEST_DATABASE_URL's server, named after that URL's database: `<name>_main` (or `<name>_gw0`,
`<name>_gw1`... under xdist) for the tests, and `<name>_main_seeded` migrated and seeded once per
session, which a seeded test gets a copy of (CREATE DATABASE ... TEMPLATE: a file copy, not a
migration and an import per test). TEST_DATABASE_URL's own database is only connected to, to
create and drop those; they are dropped when the session ends.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from npq.__main__ import CATALOGUE_DIR, migrate
from npq.catalogue import import_catalogue
from npq.db import make_engine, make_session_factory, session_scope

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


@pytest.fixture(autouse=True, scope="session")
def _geo_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep the gazetteer cache out of the repository during tests: one folder for the run,
    shared by pytest-xdist's workers (the cache file is written atomically)."""
    run = tmp_path_factory.getbasetemp()
    if "PYTEST_XDIST_WORKER" in os.environ:
        run = run.parent  # the workers' basetemps are popen-gw0, popen-gw1... in the run's
    (run / "geo-cache").mkdir(exist_ok=True)
    os.environ.setdefault("NPQ_CACHE_DIR", str(run / "geo-cache"))


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


def worker_name() -> str:
    """This test process: pytest-xdist's worker id (gw0, gw1...), or main without xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@dataclass
class PostgresServer:
    """TEST_DATABASE_URL's server: this process's databases on it, made from its URL."""

    url: str  # TEST_DATABASE_URL: connected to, never written

    def url_of(self, database: str) -> str:
        return make_url(self.url).set(database=database).render_as_string(hide_password=False)

    @property
    def test_database(self) -> str:
        return f"{make_url(self.url).database}_{worker_name()}"

    def _admin(self) -> Engine:
        return make_engine(self.url).execution_options(isolation_level="AUTOCOMMIT")

    def recreate(self, database: str, template: str | None = None) -> str:
        """Drop `database` (ending its connections) and create it, empty or as a copy of
        `template`; its URL."""
        engine = self._admin()
        try:
            with engine.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
                copy = f' TEMPLATE "{template}"' if template else ""
                connection.execute(text(f'CREATE DATABASE "{database}"{copy}'))
        finally:
            engine.dispose()
        return self.url_of(database)

    def drop(self, *databases: str) -> None:
        engine = self._admin()
        try:
            with engine.connect() as connection:
                for database in databases:
                    connection.execute(
                        text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        finally:
            engine.dispose()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer(os.environ["TEST_DATABASE_URL"])
    yield server
    server.drop(server.test_database, f"{server.test_database}_seeded")


@pytest.fixture(scope="session")
def seeded_postgres(postgres: PostgresServer) -> str:
    """The name of this process's database migrated and seeded once, the seeded tests' template."""
    template = f"{postgres.test_database}_seeded"
    seed(postgres.recreate(template))
    return template


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database, on each backend under test."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'npq.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    if "seeded_url" in request.fixturenames:  # about to be made again, as a seeded copy
        return server.url_of(server.test_database)
    return server.recreate(server.test_database)


@pytest.fixture
def seeded_url(request: pytest.FixtureRequest, database_url: str, seeded_sqlite_file: Path,
               tmp_path: Path) -> str:
    """A migrated database holding the shipped catalogue."""
    if database_url.startswith("sqlite"):
        target = tmp_path / "seeded.db"
        shutil.copyfile(seeded_sqlite_file, target)
        return f"sqlite:///{target}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.recreate(server.test_database,
                           template=request.getfixturevalue("seeded_postgres"))


@pytest.fixture
def session_factory(seeded_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(seeded_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session


# The end-to-end module that trains models (the base model first, then two candidates): the
# longest chain of work in a run, so under `--dist loadgroup` it goes to a worker first, while
# the other runs the tests that need no model; the shared stack's tests follow those.
LONGEST = "tests/e2e/test_retrain_e2e.py"


def loadgroup(config: pytest.Config) -> bool:
    """Whether this run is `--dist loadgroup` (a pytest-xdist worker sees it as `loadgroup`)."""
    return bool(getattr(config.option, "loadgroup", False)
                or getattr(config.option, "dist", "no") == "loadgroup")


def pytest_configure(config: pytest.Config) -> None:
    if loadgroup(config):
        config.option.loadscopereorder = False  # hand out groups in the order set below


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist's `--dist loadgroup` (make test, make e2e), keep tests that share a
    costly fixture on one worker: every test of the shared Rasa stack in group "stack", each
    other end-to-end module (with its own module-scoped stack or service) in a group of its
    own; the other tests go to whichever worker is free. Workers take the work in this order:
    the model-training chain, the tests that need no Rasa, then the rest of the end-to-end
    tier."""
    if not loadgroup(config):
        return
    for item in items:
        if item.get_closest_marker("e2e") is None or item.get_closest_marker("xdist_group"):
            continue
        uses = getattr(item, "fixturenames", ())
        group = "stack" if "stack" in uses else item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(group))

    def turn(item: pytest.Item) -> int:
        if item.nodeid.startswith(LONGEST):
            return 0
        return 1 if item.get_closest_marker("e2e") is None else 2
    items.sort(key=turn)
