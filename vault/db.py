"""The store: a SQLModel engine, one transaction per unit of work, migrations.

SQLite is the embedded default; every connection gets WAL, foreign keys,
``secure_delete`` (so erased rows are overwritten on disk) and a busy timeout.
PostgreSQL is reached through psycopg 3 by ``VAULT_DATABASE_URL``.
"""

from __future__ import annotations

import os
import uuid
import weakref
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool
from sqlmodel import Session, create_engine

from vault.cursor_reads import Ahead, CursorReader, CursorReads
from vault.errors import ConfigurationError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (the only clock stored times come from)."""
    return datetime.now(UTC)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


# How long a SQLite connection waits for another's write lock before giving up.
SQLITE_BUSY_TIMEOUT_MS = 10_000


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Pragmas are per connection, so they are set on every new one.
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # FULL: an acknowledged audit event survives a power cut, not only a crash.
        cursor.execute("PRAGMA synchronous=FULL")
    finally:
        cursor.close()


READ_ONLY_OPTION = "vault_read_only"


def _sqlite_begin(conn: Any) -> None:
    # A deferred transaction that reads and then writes can fail to upgrade its
    # lock when another writer got in between. Writing sessions therefore take
    # the write lock up front (BEGIN IMMEDIATE), so the busy timeout queues them.
    # Read-only sessions use a plain BEGIN: in WAL mode they never block a writer,
    # which matters because the audit writer needs the lock while a read waits
    # for its audit event to become durable.
    if conn.get_execution_options().get(READ_ONLY_OPTION):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


# Sync handlers and the authentication lookup run in anyio's worker threads (40 by
# default), and each holds one connection while it works. A pool smaller than that
# opens an overflow connection per request under load and closes it again (a new
# SQLite connection also runs the five pragmas above): measured at 32 concurrent
# reads, that churn cost more than the queries. So the pool keeps as many
# connections as there can be threads; the overflow is only a margin.
WORKER_THREADS = 40


def _pool_options(pool: bool, idle: int) -> dict[str, Any]:
    if not pool:
        return {"poolclass": NullPool}
    return {"pool_size": idle, "max_overflow": WORKER_THREADS - idle + 10}


def make_engine(url: str, *, pool: bool = True) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "isolation_level": None},
            **_pool_options(pool, idle=WORKER_THREADS),
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        # PostgreSQL connections are server processes: keep fewer idle, allow the same peak.
        engine = create_engine(url, pool_pre_ping=True, **_pool_options(pool, idle=20))
    _ENGINES.add(engine)
    return engine


# A forked child starts each engine with a pool of its own: a pooled connection of the
# parent used in the child would interleave on the parent's socket, and disposing of it
# there would end the parent's session. The parent's are dropped unclosed (psycopg
# leaves a connection made in another process open when it is collected). The vault's
# own kept connections do the same (``vault.kept_connections``).
_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()


def _new_pools_after_fork() -> None:
    for engine in list(_ENGINES):
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_new_pools_after_fork)


class Database:
    """Owns the engine; hands out sessions that commit on success, roll back on error.

    ``session()`` is for units of work that write; ``read_session()`` for those
    that only read. Never append an audit event while a writing session is open
    (see ``read_session``): decide and audit first, then write.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._read_engine = self.engine.execution_options(**{READ_ONLY_OPTION: True})
        self._cursor_reader = CursorReader(self.engine)

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A session that only reads.

        Use it on every path that appends an audit event while its transaction
        is open: on SQLite a writing session holds the database's one write lock,
        and the audit writer would wait for it forever.
        """
        with Session(self._read_engine, expire_on_commit=False) as session:
            try:
                yield session
                session.rollback()
            except BaseException:
                session.rollback()
                raise

    def read_cursor(
        self, *, one_statement: bool = False, ahead: Sequence[Ahead] = (), only_ahead: bool = False
    ) -> AbstractContextManager[CursorReads]:
        """A read transaction on the bare DBAPI cursor, for the per-request hot path.

        Its ``execute(statement, params)`` takes the same prebuilt Core SELECTs and
        returns equal rows, without the Session's cost; ``ahead``: statements sent
        in one round trip on PostgreSQL (``vault.cursor_reads``); ``only_ahead``: the
        caller asks nothing else, or catches ``NotSentAhead`` and asks again without it.
        """
        return self._cursor_reader.reads(
            one_statement=one_statement, ahead=ahead, only_ahead=only_ahead
        )

    def check_reachable(self) -> None:
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except OperationalError as exc:
            raise ConfigurationError(
                f"VAULT_DATABASE_URL: the database cannot be reached ({type(exc.orig).__name__})"
            ) from None

    def migrate(self) -> None:
        """Bring the schema to the newest migration (idempotent)."""
        from alembic import command

        command.upgrade(alembic_config(self), "head")

    def dispose(self) -> None:
        self._cursor_reader.close()
        self.engine.dispose()


def alembic_config(database: Database) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = database.engine
    return config
