"""Statements sent ahead: a request's reads in one round trip, on the event loop.

On PostgreSQL every statement of a read is a round trip, and a read through the
blocking driver runs in a worker thread (``vault.threads``) so a slow answer
never stalls the loop: a token check and a record read cost two thread hops and
seven round trips (token, account events, BEGIN, three queries, ROLLBACK).

Most of those statements are known before the first answer: the caller names
them (statement and parameters), ``AheadReader.fetch`` sends them on psycopg's
async connection in pipeline mode (one round trip, no thread) and returns an
``AheadReads``, a ``Reads`` that answers exactly those statements. The caller
then runs its ordinary synchronous checks on the loop against it. Asked any
other statement (or the same with other parameters) it raises ``NotAhead``: the
caller then does the whole work the ordinary way, in a worker thread, in a
transaction of its own, so no decision ever mixes answers of two snapshots.

``snapshot=True`` wraps the statements in one ``REPEATABLE READ READ ONLY``
transaction (sent in the same pipeline with its ROLLBACK), so every answer comes
from one snapshot, as in ``vault.cursor_reads``. The rows equal those of
``CursorReads``: the same ``PreparedQuery`` converts them.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Engine

from vault.cursor_reads import AnyQuery, CursorReads, PreparedQuery, Rows

__all__ = ["Ahead", "AheadReader", "AheadReads", "NotAhead"]

# A statement to send ahead, with its parameters.
Ahead = tuple[AnyQuery, Mapping[str, Any]]

_BEGIN = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"


class NotAhead(Exception):
    """A statement that was not sent ahead: redo the work the ordinary way."""


class AheadReads(CursorReads):
    """The answers of the statements sent ahead; any other raises ``NotAhead``.

    A ``CursorReads`` (one read, with its ``memo``) whose ``execute`` never
    reaches the store.
    """

    def __init__(self, answers: dict[int, list[tuple[AnyQuery, dict[str, Any], Rows]]]) -> None:
        self._answers = answers
        # Answers kept for the rest of this read, by their users (as ``CursorReads.memo``).
        self.memo: dict[Any, Any] = {}

    def execute(self, statement: AnyQuery, params: Mapping[str, Any]) -> Rows:
        for sent, given, rows in self._answers.get(id(statement), ()):
            if sent is statement and given == params:
                return rows
        raise NotAhead()


class AheadReader:
    """psycopg ``AsyncConnection``s of one PostgreSQL engine, in autocommit mode.

    Each is used by one coroutine at a time and kept for the next (at most
    ``IDLE`` of them, as ``CursorReader`` keeps its own). Connections belong
    to the event loop that made them: on another loop the idle ones are closed.
    A connection that saw an error is closed, never reused.
    """

    IDLE = 16

    def __init__(self, engine: Engine, prepared: Callable[[AnyQuery], PreparedQuery]) -> None:
        # The engine's own connect arguments (host, options, SQLAlchemy's adapters).
        _, self._connect_args = engine.dialect.create_connect_args(engine.url)
        self._prepared = prepared
        self._idle: list[Any] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        # A reader dropped without close() (a Database never disposed) still closes the
        # connections it keeps, rather than leave them to the garbage collector open.
        self._finalizer = weakref.finalize(self, _finish_all, self._idle)

    async def _take(self) -> Any:
        import psycopg

        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._forget_idle()
            self._loop = loop
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed and not connection.broken:
                return connection
            connection.pgconn.finish()
        return await psycopg.AsyncConnection.connect(autocommit=True, **self._connect_args)

    def _give_back(self, connection: Any) -> None:
        if not self._closed and len(self._idle) < self.IDLE:
            self._idle.append(connection)
        else:
            connection.pgconn.finish()

    async def fetch(self, queries: Sequence[Ahead], *, snapshot: bool) -> AheadReads:
        """Send ``queries`` in one pipeline (in one snapshot if asked); their answers."""
        connection = await self._take()
        sent: list[tuple[AnyQuery, dict[str, Any], PreparedQuery, Any]] = []
        try:
            async with connection.pipeline():
                if snapshot:
                    await connection.execute(_BEGIN)
                for statement, params in queries:
                    query = self._prepared(statement)
                    cursor = connection.cursor()
                    await cursor.execute(query.sql, query.parameters(params))
                    sent.append((statement, dict(params), query, cursor))
                if snapshot:
                    await connection.execute("ROLLBACK")
            answers: dict[int, list[tuple[AnyQuery, dict[str, Any], Rows]]] = {}
            for statement, params, query, cursor in sent:
                rows = Rows([query.row(raw) for raw in await cursor.fetchall()])
                answers.setdefault(id(statement), []).append((statement, params, rows))
        except BaseException:
            connection.pgconn.finish()
            raise
        self._give_back(connection)
        return AheadReads(answers)

    def _forget_idle(self) -> None:
        _finish_all(self._idle)

    def close(self) -> None:
        """Close the idle connections (no await needed: libpq closes the socket)."""
        self._closed = True
        self._finalizer()


def _finish_all(connections: list[Any]) -> None:
    while connections:
        # Held while it closes: dropped first, psycopg would warn it was left open.
        connection = connections.pop()
        connection.pgconn.finish()
