"""Shared fixtures: every database test runs on SQLite, and on PostgreSQL when
``VAULT_TEST_POSTGRES_URL`` is set (each test in its own schema, each run in its
own database, so runs cannot collide).

Migrating a store with Alembic costs more than most tests, so each test process
migrates once, for real, into a template, and ``Database.migrate`` on an *empty*
test store copies that template in (see ``StoreTemplate``). A store that already
holds tables, every subprocess, and the tests asking for ``real_migrations`` still
run Alembic itself."""

from __future__ import annotations

import os
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.pool import Pool

from vault.config import Settings, load_settings
from vault.db import Database

POSTGRES_URL = os.environ.get("VAULT_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgres"] if POSTGRES_URL else ["sqlite"]
TEST_HOSTS = ["127.0.0.1", "localhost", "testserver", "testserver.local"]


@event.listens_for(Pool, "checkout")
def _sqlite_commits_without_fsync(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Test stores in this process commit without an fsync (the SQLite twin of the
    PostgreSQL sessions' ``synchronous_commit=off`` below). A commit still reaches the
    operating system before it returns, so only a power cut could lose it; the crash
    tests kill served ``vault`` processes, which keep the vault's own FULL setting. (At
    checkout: the vault sets FULL when it connects, after any listener of the class.)"""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous=OFF")


def _psycopg_url(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def schema_url(database_url: str, schema: str) -> str:
    """The URL of ``database_url`` with ``schema`` as the only schema on its search path.

    Its sessions commit without waiting for the server's WAL flush (``synchronous_commit``
    off): what they commit is seen by every other session at once, and only a crash of
    the PostgreSQL server itself, which no test causes, could lose it. Tests commit often,
    and the flush is most of a commit's time on a busy disk."""
    from sqlalchemy.engine import make_url

    options = f"-csearch_path={schema} -csynchronous_commit=off"
    url = make_url(database_url).update_query_dict({"options": options})
    return url.render_as_string(hide_password=False)


class StoreTemplate:
    """The newest schema, made once per test process by the real Alembic migration, and
    copied into empty test stores: a SQLite file page by page (the backup API, which is
    safe while the store's own connections are open), a PostgreSQL schema by replaying
    the statements that migration ran, in one transaction and one round trip."""

    def __init__(self, folder: Path, alembic: Callable[[Database], None]) -> None:
        self.folder = folder
        self.alembic = alembic
        self.enabled = True
        self._sqlite: Path | None = None
        self._postgres: str | None = None

    def migrate(self, database: Database) -> None:
        """What ``Database.migrate`` does in tests: copy into an empty store, else Alembic."""
        if not (self.enabled and self._fill(database)):
            self.alembic(database)

    def _fill(self, database: Database) -> bool:
        if database.is_sqlite:
            return self._fill_sqlite(database)
        if database.engine.dialect.name == "postgresql":
            return self._fill_postgres(database)
        return False

    def _fill_sqlite(self, database: Database) -> bool:
        source_path = self._sqlite_template()
        raw = database.engine.raw_connection()
        try:
            target = raw.driver_connection
            if target.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                return False
            source = sqlite3.connect(source_path)
            try:
                source.backup(target)
            finally:
                source.close()
        finally:
            raw.close()
        return True

    def _fill_postgres(self, database: Database) -> bool:
        script = self._postgres_script(database)
        with database.engine.begin() as conn:
            tables = "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
            if conn.exec_driver_sql(tables).scalar():
                return False
            conn.exec_driver_sql(script)
        return True

    def _sqlite_template(self) -> Path:
        if self._sqlite is None:
            path = self.folder / "template.db"
            template = Database(f"sqlite:///{path}")
            try:
                self.alembic(template)
            finally:
                template.dispose()
            self._sqlite = path
        return self._sqlite

    def _postgres_script(self, database: Database) -> str:
        if self._postgres is None:
            schema = f"template_{secrets.token_hex(6)}"
            with database.engine.connect() as conn:
                conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
                conn.commit()
            template = Database(schema_url(database.url, schema))
            try:
                statements = _statements_run(template.engine, lambda: self.alembic(template))
            finally:
                template.dispose()
            self._postgres = ";\n".join(statements) + ";"
        return self._postgres


def _statements_run(engine: Engine, work: Callable[[], None]) -> list[str]:
    """Every statement but the reads that ``work`` sends through ``engine``, in order."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            return
        if parameters:
            raise RuntimeError(f"a migration statement with parameters: {statement}")
        statements.append(statement.strip())

    event.listen(engine, "before_cursor_execute", record)
    try:
        work()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return statements


@pytest.fixture(scope="session", autouse=True)
def store_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreTemplate]:
    """Every ``Database.migrate`` of this test process goes through the template."""
    template = StoreTemplate(tmp_path_factory.mktemp("template"), Database.migrate)

    def migrate(database: Database) -> None:
        template.migrate(database)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Database, "migrate", migrate)
        yield template


@pytest.fixture
def real_migrations(store_template: StoreTemplate) -> Iterator[None]:
    """For the tests of the migration itself: ``Database.migrate`` runs Alembic every time."""
    store_template.enabled = False
    try:
        yield
    finally:
        store_template.enabled = True


@pytest.fixture(scope="session")
def postgres_run_database() -> Iterator[str | None]:
    """A database of its own for this test run, dropped at the end."""
    if not POSTGRES_URL:
        yield None
        return
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    admin_url = make_url(_psycopg_url(POSTGRES_URL))
    name = f"vault_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        admin.dispose()
        _drop_database(admin_url.render_as_string(hide_password=False), name)


# DROP DATABASE waits for an immediate checkpoint of the whole server, and one requested
# while a timed checkpoint is spreading its writes waits for that one too (seen: 30 s
# at the end of every test process), and for every backend to close its files of the
# database (one another client keeps in COPY FROM STDIN may not answer for minutes).
# The run does not wait for its clean-up: a process of its own does the drop.
DROP_LATER = """
import sys
from sqlalchemy import create_engine
engine = create_engine(sys.argv[1], isolation_level="AUTOCOMMIT")
with engine.connect() as conn:
    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{sys.argv[2]}" WITH (FORCE)')
"""


def _drop_database(admin_url: str, name: str) -> None:
    import sys

    # Spawned, not Popen: nothing in this process waits for it, or warns that it runs.
    os.posix_spawn(
        sys.executable,
        [sys.executable, "-c", DROP_LATER, admin_url, name],
        os.environ,
        setsid=True,
    )


@pytest.fixture(scope="session")
def postgres_schemas(postgres_run_database: str | None) -> Iterator[Callable[[str], str]]:
    """Makes an empty schema named after a prefix in the run's database; returns its URL
    (one connection kept for the whole run, not one opened per test)."""
    if postgres_run_database is None:
        yield lambda prefix: pytest.fail("no PostgreSQL for this run")
        return
    from sqlalchemy import create_engine

    engine = create_engine(postgres_run_database, isolation_level="AUTOCOMMIT", pool_size=1)

    def make(prefix: str) -> str:
        schema = f"{prefix}_{secrets.token_hex(6)}"
        with engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        return schema_url(postgres_run_database, schema)

    try:
        yield make
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'vault.db'}"
    make_schema: Callable[[str], str] = request.getfixturevalue("postgres_schemas")
    return make_schema("t")


def make_settings(database_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "keys_dir": tmp_path / "keys",
        "testing": True,
        "argon2_profile": "cheapest",
        "allowed_hosts": TEST_HOSTS,
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Test settings over an empty database and an empty keys folder."""
    return make_settings(database_url, tmp_path)


@pytest.fixture
def migrated_db(settings: Settings) -> Iterator[Database]:
    """The test store, migrated to the newest schema, disposed of afterwards."""
    database = Database(settings.database_url)
    database.migrate()
    yield database
    database.dispose()
