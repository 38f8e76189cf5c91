"""Prebuilt statements run on the bare DBAPI cursor, for the per-request hot path.

A record read runs about eight small indexed queries (token, subject, consents,
record, fields, assignment, wrapped key). Through a SQLAlchemy ``Session`` each
costs 30-100 µs of Python around a query SQLite answers in ~3 µs (measured:
ORM session + 3 queries 163 µs, the same on a pooled DBAPI cursor 14 µs), and
the server is CPU bound, so that overhead was a third of a read's cost.

The statements stay SQLAlchemy Core objects, built once where they are used.
``PreparedQuery`` compiles one for the engine's dialect a single time and keeps
the column types' own bind and result converters, so a row read here equals
the row ``Session.execute`` returns (tests compare them on SQLite and
PostgreSQL). A ``CursorReads`` is one read transaction (one snapshot) that is
always rolled back; the one writer on this path is the audit log's
(``vault.audit.log``), which prepares its INSERT here too.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cached_property, partial
from typing import Any, Protocol, TypeAlias

from sqlalchemy import Column, Dialect, Engine, select
from sqlalchemy.sql import CompoundSelect, Insert, Select
from sqlmodel import SQLModel

from vault.kept_connections import KeptConnections
from vault.pg_reads import (
    BEGIN,
    ONE_SNAPSHOT,
    PreparedOnServer,
    ServerForm,
    kept_postgres_connections,
    server_form,
)
from vault.slots import FairSlots

_Converter = Callable[[Any], Any] | None
# Any SELECT, whatever its columns (Select is generic over their types).
AnySelect: TypeAlias = Select[*tuple[Any, ...]]
# What the hot path runs: a SELECT, or a UNION ALL of SELECTs.
AnyQuery: TypeAlias = AnySelect | CompoundSelect[*tuple[Any, ...]]
# A statement a read will run, with its parameters, to send ahead (``CursorReader.reads``).
Ahead: TypeAlias = tuple[AnyQuery, Mapping[str, Any]]


def table_columns(model: type[SQLModel], *names: str) -> list[Column[Any]]:
    """A table's columns taken from its definition: those named, or all in table order.

    A hot-path statement built from these reads rows whose fields are the
    columns' own names (``row.subject_id``), so no caller depends on a position.
    An unknown name raises ``KeyError`` where the statement is built.
    """
    columns = model.__table__.c  # type: ignore[attr-defined]  # SQLModel table models have one
    if not names:
        return list(columns)
    return [columns[name] for name in names]


def row_select(model: type[SQLModel], *names: str) -> AnySelect:
    """``SELECT`` of a table's columns (see ``table_columns``); add the WHERE clause."""
    return select(*table_columns(model, *names))


def column_names(model: type[SQLModel]) -> list[str]:
    """Every column name of a table, in table order (an INSERT's ``column_keys``)."""
    return [column.key for column in table_columns(model)]


class PreparedQuery:
    """One Core SELECT (or INSERT) compiled for one dialect, with its converters."""

    def __init__(
        self,
        statement: AnyQuery | Insert,
        dialect: Dialect,
        column_keys: list[str] | None = None,
    ) -> None:
        # column_keys: an INSERT's columns (all of them are then given for every row).
        compiled = statement.compile(dialect=dialect, column_keys=column_keys)
        self.sql = str(compiled)
        binds = compiled.binds
        # Positional paramstyles (sqlite's qmark) name each placeholder in order;
        # named ones (psycopg's pyformat) take a mapping.
        self._positions: list[str] | None = (
            list(compiled.positiontup) if compiled.positiontup is not None else None
        )
        converters: dict[str, _Converter] = {
            name: bind.type.dialect_impl(dialect).bind_processor(dialect)
            for name, bind in binds.items()
        }
        # Values fixed in the statement itself (LIMIT 1 is a bound parameter),
        # converted once; the caller gives the others on every call.
        self._fixed: dict[str, Any] = {}
        self._given: list[tuple[str, _Converter]] = []
        for name, bind in binds.items():
            convert = converters[name]
            if bind.required:
                self._given.append((name, convert))
            else:
                value = bind.effective_value
                self._fixed[name] = convert(value) if convert is not None else value
        columns = (
            list(statement.selected_columns)
            if isinstance(statement, Select | CompoundSelect)
            else []
        )
        self._result_converters: list[tuple[int, Callable[[Any], Any]]] = []
        for index, column in enumerate(columns):
            convert = column.type.dialect_impl(dialect).result_processor(dialect, None)
            if convert is not None:
                self._result_converters.append((index, convert))
        self.row_type: Any = namedtuple(  # type: ignore[misc]  # field names known only here
            "Row", [column.key or f"c{i}" for i, column in enumerate(columns)], rename=True
        )

    @cached_property
    def server_form(self) -> ServerForm:
        """The statement as PostgreSQL's PREPARE takes it (PostgreSQL dialects only)."""
        return server_form(self.sql)

    def parameters(self, given: Mapping[str, Any]) -> Any:
        values = dict(self._fixed)
        for name, convert in self._given:
            value = given[name]
            values[name] = convert(value) if convert is not None else value
        if self._positions is None:
            return values
        return tuple([values[name] for name in self._positions])

    def row(self, raw: tuple[Any, ...]) -> Any:
        if not self._result_converters:
            return tuple.__new__(self.row_type, raw)
        values = list(raw)
        for index, convert in self._result_converters:
            values[index] = convert(values[index])
        return tuple.__new__(self.row_type, values)


class Rows:
    """The answer of one query: the few ``Result`` methods the hot path uses."""

    __slots__ = ("_rows",)

    def __init__(self, rows: list[Any]) -> None:
        self._rows = rows

    def first(self) -> Any:
        return self._rows[0] if self._rows else None

    def one_or_none(self) -> Any:
        if len(self._rows) > 1:
            raise LookupError("more than one row")
        return self.first()

    def all(self) -> list[Any]:
        return self._rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)


class NotSentAhead(Exception):
    """A read made with ``only_ahead`` asked a statement it had not sent ahead.

    Its snapshot ended with the round trip that answered the others, so nothing
    else can be read in it: the caller asks again, without ``only_ahead``.
    """


class CursorReads:
    """A read transaction on a pooled DBAPI connection; ``execute`` like a Session's."""

    def __init__(
        self,
        cursor: Any | None,
        prepared: Callable[[AnyQuery], PreparedQuery],
        answered: list[tuple[Ahead, Rows]] | None = None,
    ) -> None:
        self._cursor = cursor
        self._prepared = prepared
        # Answers kept for the rest of this transaction (one snapshot), by their users.
        self.memo: dict[Any, Any] = {}
        # The answers of the statements sent ahead, in this same transaction.
        self._answered = answered or []

    def execute(self, statement: AnyQuery, params: Mapping[str, Any]) -> Rows:
        for (sent, given), rows in self._answered:
            if sent is statement and given == params:
                return rows
        if self._cursor is None:
            raise NotSentAhead()  # the snapshot ended with the statements sent ahead
        query = self._prepared(statement)
        self._cursor.execute(query.sql, query.parameters(params))
        return Rows([query.row(raw) for raw in self._cursor.fetchall()])


class CursorReader:
    """Hands out ``CursorReads`` on one engine; prepares each statement once.

    It keeps its own few connections (made by the engine, so with the store's
    pragmas or connect options, then detached from its pool): checking a
    connection out of SQLAlchemy's pool and back cost as much as the queries of
    a token check, and on PostgreSQL the pool's pre-ping is one more round trip
    per read transaction. A connection that saw an error is closed, never
    reused; a PostgreSQL connection the driver knows is closed or broken is
    dropped before use.

    PostgreSQL connections are in autocommit mode: a single statement is its
    own snapshot (no BEGIN and ROLLBACK round trips), and a read of several
    statements is one ``REPEATABLE READ READ ONLY`` transaction (one snapshot
    for all of them, and the database refuses any write in it).
    """

    IDLE_SQLITE_CONNECTIONS = 8
    # Each is a server process (docs/deployment.md counts them), so they are
    # few, and a read waits briefly for one of them rather than open another:
    # with more reads at once than connections kept, a connection opened for
    # one read and closed after it cost the database more CPU than the reads
    # (measured at 32 concurrent reads with 16 kept: 11 connections opened per
    # 100 reads, 2.8 ms of PostgreSQL CPU per read against 1.0 ms without).
    IDLE_POSTGRES_CONNECTIONS = 16
    # How long a read waits for a kept connection before it opens one of its own
    # (closed after the read): a read that holds one and opens another read
    # inside it can then never wait for itself.
    POSTGRES_WAIT_SECONDS = 0.05

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._dialect = engine.dialect
        self._sqlite = engine.dialect.name == "sqlite"
        self._queries: dict[int, tuple[AnyQuery, PreparedQuery]] = {}
        # DBAPI connections owned by this reader. After close() a read still running
        # closes its connection rather than keeping it; a reader dropped without
        # close() (a Database never disposed) still closes them.
        self._kept = (
            KeptConnections(self.IDLE_SQLITE_CONNECTIONS, partial(_detached_sqlite, engine))
            if self._sqlite
            else kept_postgres_connections(engine, self.IDLE_POSTGRES_CONNECTIONS)
        )
        # PostgreSQL: one slot per connection this reader keeps (taken while in use).
        self._slots = FairSlots(self.IDLE_POSTGRES_CONNECTIONS)
        self._postgres = PreparedOnServer()

    def prepared(self, statement: AnyQuery) -> PreparedQuery:
        # Keyed by identity: the statements are module constants, built once.
        found = self._queries.get(id(statement))
        if found is None or found[0] is not statement:
            found = (statement, PreparedQuery(statement, self._dialect))
            self._queries[id(statement)] = found
        return found[1]

    @contextmanager
    def reads(
        self,
        *,
        one_statement: bool = False,
        ahead: Sequence[Ahead] = (),
        only_ahead: bool = False,
    ) -> Iterator[CursorReads]:
        """One read-only transaction (one snapshot), rolled back at the end.

        ``one_statement``: the caller runs a single SELECT, which SQLite already
        answers from one snapshot, so no explicit transaction is opened for it
        (on PostgreSQL each statement is then its own snapshot).

        ``ahead``: statements the caller will run. On PostgreSQL they are sent with
        the BEGIN as one query string (one round trip, not one each;
        ``vault.pg_reads``) and ``execute`` answers them from there; any other
        statement runs as usual, in the same transaction (with ``one_statement``
        the statements sent ahead share one snapshot, and any other runs alone).
        SQLite has no round trips: there they run when asked.

        ``only_ahead``: the caller expects to ask nothing but ``ahead``. On
        PostgreSQL the snapshot then ends with the round trip that answers them
        (no ROLLBACK round trip after), and asking any other statement raises
        ``NotSentAhead``, the connection kept: ask again without ``only_ahead``.
        """
        if not self._sqlite:
            finished = only_ahead and bool(ahead)
            with self._postgres_reads(one_statement, ahead, finished) as reads:
                yield reads
            return
        connection = self._kept.take()[0]
        try:
            cursor = connection.cursor()
            # The driver runs in autocommit mode (isolation_level=None): the snapshot
            # is this explicit deferred transaction. A read never takes the write
            # lock, so it never waits for the audit writer.
            if not one_statement:
                cursor.execute("BEGIN")
            yield CursorReads(cursor, self.prepared)
            cursor.close()
            if not one_statement:
                connection.rollback()
        except BaseException:
            connection.close()
            raise
        self._kept.give_back(connection)

    @contextmanager
    def _postgres_reads(
        self, one_statement: bool, ahead: Sequence[Ahead], finished: bool
    ) -> Iterator[CursorReads]:
        kept = self._slots.acquire(timeout=self.POSTGRES_WAIT_SECONDS)
        try:
            with self._postgres_transaction(one_statement, ahead, kept, finished) as reads:
                yield reads
        finally:
            if kept:
                self._slots.release()

    @contextmanager
    def _postgres_transaction(
        self, one_statement: bool, ahead: Sequence[Ahead], kept: bool, finished: bool
    ) -> Iterator[CursorReads]:
        """``finished``: the string of statements sent ahead is the whole transaction."""
        connection = self._take_postgres(kept)
        try:
            cursor = connection.cursor()
            answered: list[tuple[Ahead, Rows]] = []
            if ahead:
                whole = one_statement or finished
                sent = self._postgres.run_together(
                    connection,
                    [(self.prepared(statement), params) for statement, params in ahead],
                    opening=ONE_SNAPSHOT if whole else BEGIN,
                )
                answered = [
                    ((statement, dict(params)), Rows(rows))
                    for (statement, params), rows in zip(ahead, sent, strict=True)
                ]
            elif not one_statement:
                cursor.execute(BEGIN)
            yield CursorReads(None if finished else cursor, self.prepared, answered)
            cursor.close()
            if not one_statement and not finished:
                connection.execute("ROLLBACK")
        except NotSentAhead:
            if not finished:
                connection.close()  # from a read nested in this one: this one's state is unknown
                raise
            # Nothing was sent after the string, whose transaction ended with it: clean.
            self._keep_or_close(connection, kept)
            raise
        except BaseException:
            connection.close()
            raise
        self._keep_or_close(connection, kept)

    def _keep_or_close(self, connection: Any, kept: bool) -> None:
        if kept:
            self._kept.give_back(connection)
        else:
            connection.close()  # opened beyond the slots: not kept

    def _take_postgres(self, kept: bool) -> Any:
        # Beyond the slots a read opens its own: the kept ones are the slot holders'.
        return self._kept.take()[0] if kept else self._kept.opened()

    def close(self) -> None:
        """Close the connections this reader keeps (the engine's pool is the engine's)."""
        self._kept.close()


def _detached_sqlite(engine: Engine) -> Any:
    pooled = engine.raw_connection()  # runs the connect pragmas
    pooled.detach()
    return pooled.dbapi_connection


class Answer(Protocol):
    """The rows of one query, as a ``Result`` or ``Rows`` gives them."""

    def first(self) -> Any: ...

    def all(self) -> Sequence[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Reads(Protocol):
    """What a hot-path read function takes: one read transaction that runs prebuilt SELECTs.

    An open ``Session`` is one, so is a ``CursorReads``: domain protocols name
    this, not either class.
    """

    def execute(self, statement: AnyQuery, params: Mapping[str, Any], /) -> Answer: ...
