"""A few database connections kept for reuse, outside SQLAlchemy's pool, safe across fork.

The read path (``vault.cursor_reads``) and the audit chain's writer
(``vault.audit.chain``) keep their own DBAPI connections: made by
the engine (so with the store's pragmas or connect options), detached from its
pool, and given back after use. Checking a connection out of the pool and back
cost as much as the queries of a token check, and on PostgreSQL the pool's
pre-ping is one more round trip.

A forked child must neither use nor close what its parent keeps: a psycopg
connection shares its socket with the parent's, so a statement from the child
would interleave with the parent's, and closing it (or letting the collector
free it) tells the server to end the parent's session. Right after a fork the
child's ``KeptConnections`` set the parent's connections aside, untouched for
the life of the child, and keep new ones of their own.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable
from typing import Any

__all__ = ["KeptConnections", "close_connections"]

# The parent's connections a forked child found kept: held so that the collector never
# frees them, never used nor closed.
_LEFT_TO_PARENT: list[Any] = []
_EVERY: weakref.WeakSet[KeptConnections] = weakref.WeakSet()


def close_connections(connections: list[Any]) -> None:
    """Close and forget every DBAPI connection of a kept list."""
    while connections:
        connections.pop().close()


class KeptConnections:
    """Up to ``kept`` idle connections; ``opened()`` makes another when none is idle.

    ``usable(connection)``: whether an idle one may still be used (a PostgreSQL
    connection the driver knows is closed or broken is closed and skipped).
    """

    def __init__(
        self,
        kept: int,
        opened: Callable[[], Any],
        usable: Callable[[Any], bool] | None = None,
    ) -> None:
        self.kept = kept
        self._opened = opened
        self._usable = usable
        self._lock = threading.Lock()
        self._closed = False
        self._idle: list[Any] = []
        # Dropped without close(): its connections are still closed, not left to the collector.
        self._finalizer = weakref.finalize(self, close_connections, self._idle)
        _EVERY.add(self)

    def take(self) -> tuple[Any, bool]:
        """A connection, and whether it was kept (used before, so it may have gone stale)."""
        while True:
            try:
                connection = self._idle.pop()  # atomic: list.pop needs no lock
            except IndexError:
                return self._opened(), False
            if self._usable is None or self._usable(connection):
                return connection, True
            connection.close()

    def opened(self) -> Any:
        """A new connection, not taken from the idle ones (its taker closes it)."""
        return self._opened()

    def give_back(self, connection: Any) -> None:
        """Keep ``connection`` for the next taker, or close it if enough are kept."""
        with self._lock:  # so that close() cannot drain the list between check and append
            if not self._closed and len(self._idle) < self.kept:
                self._idle.append(connection)
                return
        connection.close()

    def close(self) -> None:
        """Close the idle connections; any given back later is closed instead of kept."""
        with self._lock:
            self._closed = True
        self._finalizer()

    def _leave_to_parent(self) -> None:
        """In a forked child: the parent's idle connections set aside; new ones from here."""
        self._lock = threading.Lock()  # another thread of the parent may have held it
        self._finalizer.detach()
        _LEFT_TO_PARENT.extend(self._idle)
        self._idle = []
        self._finalizer = weakref.finalize(self, close_connections, self._idle)


def _after_fork_in_child() -> None:
    for kept in list(_EVERY):
        kept._leave_to_parent()


os.register_at_fork(after_in_child=_after_fork_in_child)
