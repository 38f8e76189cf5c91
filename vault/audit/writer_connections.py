"""The PostgreSQL connections the audit chain's writer keeps for itself.

Taken from SQLAlchemy's pool, each batch paid a pre-ping (``SELECT 1``) and
psycopg's own ``BEGIN``: two round trips, besides the lock, the head, the
inserts and the commit. A connection kept here is in autocommit mode, and the
chain begins its transaction itself (``vault.audit.chain``). A connection that
saw an error is closed, never given back.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

from sqlalchemy import Engine

from vault.cursor_reads import close_connections
from vault.pg_reads import detached_postgres_connection

# The parent's connections a forked child found here: held, never used nor closed (a
# closed psycopg connection tells the server to end the session, the parent's own).
_LEFT_TO_PARENT: list[Any] = []


class WriterConnections:
    """A few kept psycopg connections: one for the writer thread, one for a checkpoint."""

    KEPT = 2

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        self._closed = False
        # Dropped without close() (a log never closed): still closed, not left to the collector.
        self._finalizer = weakref.finalize(self, close_connections, self._idle)

    def take(self) -> tuple[Any, bool]:
        """A connection, and whether it was kept (it may have gone stale meanwhile)."""
        while True:
            with self._lock:
                connection = self._idle.pop() if self._idle else None
            if connection is None:
                return detached_postgres_connection(self._engine), False
            if not connection.closed and not connection.broken:
                return connection, True
            connection.close()

    def give_back(self, connection: Any) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < self.KEPT:
                self._idle.append(connection)
                return
        connection.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._finalizer()

    def leave_to_parent(self) -> None:
        """In a forked child: keep the parent's connections out of reach, open."""
        with self._lock:
            self._closed = True
            self._finalizer.detach()
            _LEFT_TO_PARENT.extend(self._idle)
            self._idle.clear()
