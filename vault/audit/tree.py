"""The transparency tree over the audit events, stored in the ``audit_nodes`` table.

Leaf ``i`` of the tree is the chain hash of event ``seq = i + 1`` (its
``hash`` column, ``SHA-256(prev_hash || canonical)``); the leaf hash is
``SHA-256(0x00 || chain hash)`` (RFC 9162). Choosing the chain hash, not the
canonical bytes, makes every leaf commit to the whole history before it: a
signed head of size ``n`` pins events 1..n through the chain even where the
tree alone would pin only the leaf. An inclusion proof therefore carries the
event's canonical bytes and ``prev_hash``; a verifier recomputes the chain
hash, then the leaf hash, then the root.

:class:`CursorNodeStore` is a :class:`vault.transparency.NodeStore` on a DBAPI
cursor inside the chain's transaction: reads are one indexed lookup each,
writes are buffered and inserted with one ``executemany`` when the batch ends.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Dialect, and_, bindparam, insert, select

from vault.audit.models import NODES
from vault.cursor_reads import PreparedQuery
from vault.transparency import TreeAppender

__all__ = ["CursorNodeStore", "NodeStatements", "TreeWriter"]


class NodeStatements:
    """The node table's two statements, compiled once for a dialect."""

    def __init__(self, dialect: Dialect) -> None:
        self.get = PreparedQuery(
            select(NODES.c.hash).where(
                and_(NODES.c.level == bindparam("level"), NODES.c.idx == bindparam("idx"))
            ),
            dialect,
        )
        self.insert = PreparedQuery(insert(NODES), dialect, ["level", "idx", "hash"])
        # PostgreSQL: one statement for the whole batch (one round trip, not one per node).
        self.unnest: str | None = (
            "INSERT INTO audit_nodes (level, idx, hash) SELECT * FROM "
            "unnest(%s::smallint[], %s::bigint[], %s::bytea[])"
            if dialect.name == "postgresql"
            else None
        )


class CursorNodeStore:
    """Stored subtree hashes read and written through one cursor (one transaction)."""

    __slots__ = ("_cursor", "_pending", "_statements")

    def __init__(self, cursor: Any, statements: NodeStatements) -> None:
        self._cursor = cursor
        self._statements = statements
        self._pending: dict[tuple[int, int], bytes] = {}

    def get(self, level: int, index: int) -> bytes:
        pending = self._pending.get((level, index))
        if pending is not None:
            return pending
        query = self._statements.get
        self._cursor.execute(query.sql, query.parameters({"level": level, "idx": index}))
        row = self._cursor.fetchone()
        if row is None:
            raise KeyError((level, index))
        return bytes(row[0])

    def put(self, level: int, index: int, node: bytes) -> None:
        self._pending[(level, index)] = node

    def flush(self) -> None:
        """Insert every buffered node (a stored node is never rewritten: the key is unique)."""
        if not self._pending:
            return
        unnest = self._statements.unnest
        if unnest is not None:
            keys = list(self._pending)
            self._cursor.execute(
                unnest,
                (
                    [level for level, _ in keys],
                    [index for _, index in keys],
                    [self._pending[key] for key in keys],
                ),
            )
            self._pending.clear()
            return
        insert_rows = self._statements.insert
        rows = [
            insert_rows.parameters({"level": level, "idx": index, "hash": node})
            for (level, index), node in self._pending.items()
        ]
        self._cursor.executemany(insert_rows.sql, rows)
        self._pending.clear()


class TreeWriter:
    """Keeps the tree's right edge between batches; appends each batch's chain hashes.

    The edge is trusted only for the size it was left at: when another process
    appended meanwhile (the chain head is elsewhere), it is read back from the
    store in O(log n).
    """

    def __init__(self, dialect: Dialect) -> None:
        self.statements = NodeStatements(dialect)
        self._appender: TreeAppender | None = None

    def append(self, cursor: Any, size: int, chain_hashes: list[bytes]) -> None:
        """Append leaves after a tree of ``size`` leaves, inside the batch's transaction."""
        store = CursorNodeStore(cursor, self.statements)
        appender = self._appender
        if appender is None or appender.size != size:
            appender = TreeAppender(store, size)
        else:
            appender.store = store
        appender.append(chain_hashes)
        store.flush()
        self._appender = appender

    def forget(self) -> None:
        """Drop the edge (the transaction that extended it rolled back)."""
        self._appender = None
