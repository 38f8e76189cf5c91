"""A PostgreSQL read's statements sent ahead: prepared once per connection, run in one string.

``CursorReader`` sends the statements a read will run in one round trip. Here
they become one simple-protocol query string, each statement an ``EXECUTE`` of
a statement prepared once on that connection (so the server plans it once).

Measured in one process against this machine's PostgreSQL: BEGIN and six small
SELECTs cost ~0.5 ms of the vault's CPU in psycopg's pipeline mode (its
per-statement bookkeeping, not the network) and ~0.2 ms as one query string;
for a join the server spent ~0.45 ms planning the string's statements against
~0.18 ms executing prepared ones. The values are bound into the text by
psycopg's client-side binding (``ClientCursor``: literals escaped by libpq for
the connection), never formatted here.
"""

from __future__ import annotations

import itertools
import logging
import re
import weakref
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from vault.kept_connections import KeptConnections

if TYPE_CHECKING:
    from sqlalchemy import Engine

__all__ = [
    "BEGIN",
    "BEGIN_WRITING",
    "ONE_SNAPSHOT",
    "PreparedOnServer",
    "ServerForm",
    "detached_postgres_connection",
    "kept_postgres_connections",
    "server_form",
]

log = logging.getLogger(__name__)

BEGIN = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
# The same for the implicit transaction of one query string of several statements.
ONE_SNAPSHOT = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
# A writing transaction (the audit chain's), left open for its writes.
BEGIN_WRITING = "BEGIN"

# psycopg's placeholders in compiled SQL: %(name)s, and %% for a percent sign.
_PYFORMAT = re.compile(r"%\((\w+)\)s|%%")
# Names of statements prepared on PostgreSQL connections: unique in this process.
_NAMES = itertools.count(1)


class PreparedQuery(Protocol):
    """What is used here of ``vault.cursor_reads.PreparedQuery``."""

    sql: str

    @property
    def server_form(self) -> ServerForm: ...

    def parameters(self, given: Mapping[str, Any]) -> Any: ...

    def row(self, raw: tuple[Any, ...]) -> Any: ...


class ServerForm(NamedTuple):
    """A statement as PostgreSQL's PREPARE takes it."""

    name: str
    text: str  # with $1, $2, ... for the parameters
    order: list[str]  # the parameters' names, by number


def server_form(sql: str) -> ServerForm:
    """The PREPARE form of SQL compiled with psycopg's ``%(name)s`` placeholders."""
    order: list[str] = []

    def number(match: re.Match[str]) -> str:
        key = match.group(1)
        if key is None:
            return "%"  # an escaped percent sign
        if key not in order:
            order.append(key)
        return f"${order.index(key) + 1}"

    return ServerForm(f"vault_read_{next(_NAMES)}", _PYFORMAT.sub(number, sql), order)


class PreparedOnServer:
    """Which statements are prepared on which connection; runs statements sent ahead."""

    def __init__(self) -> None:
        # The names prepared on each connection, and those the server would not prepare.
        self._on: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()
        self._refused: set[str] = set()

    def run_together(
        self,
        connection: Any,
        queries: Sequence[tuple[PreparedQuery, Mapping[str, Any]]],
        *,
        opening: str,
    ) -> list[list[Any]]:
        """The rows of each statement, run as one query string (one round trip).

        ``opening``: the string's first statement. ``BEGIN`` (or ``BEGIN_WRITING``)
        starts the caller's transaction, left open for any statement it runs
        later. ``ONE_SNAPSHOT``: the statements still run in one snapshot (a query
        string is one implicit transaction; SET TRANSACTION makes it repeatable
        read and read only), which ends with the string.
        """
        import psycopg  # the PostgreSQL driver, present when the store is PostgreSQL

        writer = psycopg.ClientCursor(connection)
        prepared_here = self._on.get(connection)
        if prepared_here is None:
            prepared_here = self._on[connection] = set()
        texts = [opening]
        for query, params in queries:
            values = query.parameters(params)
            form = query.server_form
            if self._ready(connection, prepared_here, form):
                arguments = ", ".join(["%s"] * len(form.order))
                call = f"EXECUTE {form.name}({arguments})" if form.order else f"EXECUTE {form.name}"
                texts.append(writer.mogrify(call, [values[key] for key in form.order]))
            else:
                texts.append(writer.mogrify(query.sql, values))
        writer.execute(";".join(texts))
        answers = []
        for query, _ in queries:
            writer.nextset()  # the first result is the opening statement's
            answers.append([query.row(raw) for raw in writer.fetchall()])
        writer.close()
        return answers

    def _ready(self, connection: Any, prepared_here: set[str], form: ServerForm) -> bool:
        """Whether the statement is prepared on ``connection`` (made so if it can be)."""
        if form.name in prepared_here:
            return True
        if form.name in self._refused:
            return False
        import psycopg

        try:
            connection.execute(f"PREPARE {form.name} AS {form.text}")
        except psycopg.ProgrammingError as refused:
            # A statement whose parameter types the server cannot infer: sent as text.
            log.warning("statement %s not prepared (%s)", form.name, type(refused).__name__)
            self._refused.add(form.name)
            return False
        prepared_here.add(form.name)
        return True


def detached_postgres_connection(engine: Engine) -> Any:
    """A new psycopg connection in autocommit mode, made by ``engine`` (its connect
    options) and detached from its pool: the caller keeps it, and closes it."""
    pooled = engine.raw_connection()  # runs the engine's connect options
    pooled.detach()
    fresh: Any = pooled.dbapi_connection  # the psycopg connection itself
    try:
        fresh.rollback()  # the pool's pre-ping may have opened a transaction
        fresh.autocommit = True
    except BaseException:
        fresh.close()
        raise
    return fresh


def kept_postgres_connections(engine: Engine, kept: int) -> KeptConnections:
    """Up to ``kept`` autocommit connections of ``engine`` kept for reuse
    (``detached_postgres_connection``); one the driver knows is closed or broken
    is skipped."""
    return KeptConnections(
        kept,
        lambda: detached_postgres_connection(engine),
        lambda connection: not connection.closed and not connection.broken,
    )
