"""Shared fixtures: databases migrated with Alembic and seeded from the shipped catalogue.

Database tests run on SQLite always and also on PostgreSQL when TEST_DATABASE_URL is set
(`.ci/run` sets it, and a PostgreSQL that is down then fails the run rather than skipping).

On PostgreSQL each test process (one, or each pytest-xdist worker) has a database of its own on
TEST_DATABASE_URL's server, named after that URL's database: `<name>_main`, or `<name>_gw0`,
`<name>_gw1`... under xdist; TEST_DATABASE_URL's own database is only connected to, to create
it and drop it at the end. A seeded test does not migrate and import again: the catalogue rows,
imported once per process, are kept in a schema beside `public` (`npq_seed`), and each seeded
test gets `public`'s rows deleted and copied back from there (no DDL, so no checkpoint).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from _pytest.nodeid import NodeId
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from npq.__main__ import CATALOGUE_DIR, migrate
from npq.catalogue import import_catalogue
from npq.db import Base, make_engine, make_session_factory, session_scope

# tests/engine imports rasa: the engine's Python runs it (make test-engine), never this one.
collect_ignore = ["engine"]

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


SNAPSHOT = "npq_seed"  # the schema holding the seeded rows, beside public


@dataclass
class PostgresServer:
    """TEST_DATABASE_URL's server, and this process's database on it."""

    url: str  # TEST_DATABASE_URL: connected to, never written
    tables: list[str] = field(default_factory=list)  # seeded, in foreign-key order
    structure: tuple[str, list[str]] | None = None  # alembic version and tables when seeded
    sequences: list[tuple[str, str, str]] = field(default_factory=list)  # table, column, name

    @property
    def database(self) -> str:
        return f"{make_url(self.url).database}_{worker_name()}"

    @property
    def test_url(self) -> str:
        return make_url(self.url).set(database=self.database).render_as_string(
            hide_password=False)

    def _admin(self, statement: str) -> None:
        engine = make_engine(self.url).execution_options(isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(statement))
        finally:
            engine.dispose()

    def create(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        self._admin(f'CREATE DATABASE "{self.database}"')

    def drop(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    def empty(self) -> str:
        """The test database with nothing in `public`."""
        engine = make_engine(self.test_url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        return self.test_url

    def seeded(self) -> str:
        """The test database migrated, holding exactly the seeded rows."""
        engine = make_engine(self.test_url)
        try:
            with engine.begin() as connection:
                intact = self.structure is not None and self._structure(connection) == (
                    self.structure)
            if not intact:
                self.empty()
                if self.structure is None:  # the first time: import, and keep the rows
                    seed(self.test_url)
                    with engine.begin() as connection:
                        self._snapshot(connection)
                    return self.test_url
                migrate(self.test_url)
            with engine.begin() as connection:
                self._restore(connection)
        finally:
            engine.dispose()
        return self.test_url

    @staticmethod
    def _structure(connection: Connection) -> tuple[str, list[str]]:
        tables = sorted(connection.execute(text(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        )).scalars())
        version = ""
        if "alembic_version" in tables:
            version = str(connection.execute(
                text("SELECT version_num FROM public.alembic_version")).scalar())
        return version, tables

    def _snapshot(self, connection: Connection) -> None:
        self.structure = self._structure(connection)
        present = set(self.structure[1]) - {"alembic_version"}
        ordered = [t.name for t in Base.metadata.sorted_tables if t.name in present]
        self.tables = ordered + sorted(present - set(ordered))
        connection.execute(text(f"DROP SCHEMA IF EXISTS {SNAPSHOT} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {SNAPSHOT}"))
        for table in self.tables:
            connection.execute(text(f'CREATE TABLE {SNAPSHOT}."{table}" AS '
                                    f'TABLE public."{table}"'))
        self.sequences = [(str(t), str(c), str(q)) for t, c, q in connection.execute(text(
            "SELECT c.relname, a.attname, "
            "pg_get_serial_sequence(format('public.%I', c.relname), a.attname) "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_attribute a ON a.attrelid = c.oid "
            "WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 "
            "AND NOT a.attisdropped AND pg_get_serial_sequence("
            "format('public.%I', c.relname), a.attname) IS NOT NULL"))]

    def _restore(self, connection: Connection) -> None:
        for table in reversed(self.tables):
            connection.execute(text(f'DELETE FROM public."{table}"'))
        for table in self.tables:
            connection.execute(text(f'INSERT INTO public."{table}" OVERRIDING SYSTEM VALUE '
                                    f'SELECT * FROM {SNAPSHOT}."{table}"'))
        for table, column, sequence in self.sequences:
            connection.execute(text(
                f'SELECT setval(\'{sequence}\', COALESCE((SELECT max("{column}") '
                f'FROM public."{table}"), 0) + 1, false)'))


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer(os.environ["TEST_DATABASE_URL"])
    server.create()
    yield server
    server.drop()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database, on each backend under test."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'npq.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    if "seeded_url" in request.fixturenames:  # about to be filled with the seeded rows
        return server.test_url
    return server.empty()


@pytest.fixture
def seeded_url(request: pytest.FixtureRequest, database_url: str, seeded_sqlite_file: Path,
               tmp_path: Path) -> str:
    """A migrated database holding the shipped catalogue."""
    if database_url.startswith("sqlite"):
        target = tmp_path / "seeded.db"
        shutil.copyfile(seeded_sqlite_file, target)
        return f"sqlite:///{target}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.seeded()


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


def put_in_group(item: pytest.Item, group: str) -> None:
    """What `--dist loadgroup` does for an `xdist_group` mark: "@group" after the node id, which
    the scheduler reads. pytest-xdist 3.8 writes it to `item._nodeid`, which pytest 9 no longer
    reads (the id is `item._id`), so it is done here, once."""
    new = f"{item.nodeid}@{group}"
    if isinstance(getattr(item, "_id", None), NodeId):
        item._id = NodeId.parse(new)
    else:
        item._nodeid = new  # type: ignore[attr-defined]


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

    def turn(item: pytest.Item) -> int:
        if item.nodeid.startswith(LONGEST):
            return 0
        return 1 if item.get_closest_marker("e2e") is None else 2
    items.sort(key=turn)
    for item in items:
        if item.get_closest_marker("e2e") is None or "@" in item.nodeid.rpartition("]")[2]:
            continue
        uses = getattr(item, "fixturenames", ())
        put_in_group(item, "stack" if "stack" in uses else Path(item.nodeid.split("::")[0]).stem)
