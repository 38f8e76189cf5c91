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

The leaves themselves (level 0) are not stored: leaf ``i`` is
``SHA-256(0x00 || hash)`` of event ``i + 1``, read from ``audit_events`` by its
primary key. Storing them would double the rows every batch writes inside the
chain's lock (about one node in two is a leaf) and keep a second copy of each
chain hash that could disagree with the first; a proof reads one leaf at most.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Dialect, and_, bindparam, insert, select

from vault.audit.models import EVENTS, NODES
from vault.cursor_reads import PreparedQuery
from vault.transparency import TreeAppender, hash_leaf, inclusion_proof, verify_inclusion

__all__ = ["CursorNodeStore", "NodeStatements", "TreeWriter", "prove_last_leaf"]


# Nodes of this level are derived from the events, never stored (see above).
LEAF_LEVEL = 0


class NodeStatements:
    """The node table's statements and the leaf lookup, compiled once for a dialect."""

    def __init__(self, dialect: Dialect) -> None:
        self.leaf = PreparedQuery(
            select(EVENTS.c.hash).where(EVENTS.c.seq == bindparam("seq")), dialect
        )
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
        if level == LEAF_LEVEL:
            leaf = self._statements.leaf
            self._cursor.execute(leaf.sql, leaf.parameters({"seq": index + 1}))
            row = self._cursor.fetchone()
            if row is None:
                raise KeyError((level, index))
            return hash_leaf(bytes(row[0]))
        query = self._statements.get
        self._cursor.execute(query.sql, query.parameters({"level": level, "idx": index}))
        row = self._cursor.fetchone()
        if row is None:
            raise KeyError((level, index))
        return bytes(row[0])

    def put(self, level: int, index: int, node: bytes) -> None:
        self._pending[(level, index)] = node

    def flush(self) -> None:
        """Insert the buffered inner nodes (a stored node is never rewritten: its key is unique)."""
        keys = [key for key in self._pending if key[0] != LEAF_LEVEL]
        if not keys:
            self._pending.clear()
            return
        unnest = self._statements.unnest
        if unnest is not None:
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
            insert_rows.parameters(
                {"level": level, "idx": index, "hash": self._pending[level, index]}
            )
            for level, index in keys
        ]
        self._cursor.executemany(insert_rows.sql, rows)
        self._pending.clear()


def prove_last_leaf(store: CursorNodeStore, size: int, root: bytes, leaf: bytes) -> None:
    """Prove ``leaf`` is the last leaf of the signed tree (``size``, ``root``) from the
    stored nodes: ``ProofInvalid`` if it is not, ``KeyError`` if a node is missing. Leaves
    are read from the events, so comparing with a stored copy would prove nothing."""
    index = size - 1
    verify_inclusion(leaf, index, size, inclusion_proof(store, index, size), root)


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
