"""Appending to the hash chain: one locked transaction, the head read, the rows written.

Several processes may append to one database: every batch and every checkpoint
takes the chain's lock first (``BEGIN IMMEDIATE`` on SQLite, a transaction-scoped
advisory lock on PostgreSQL), then reads the head, so sequence numbers stay
gapless and every ``prev_hash`` is the hash of the event just before it.

Rows are built by column name and the column list is the table's own
(``EVENTS.c`` in order), so the writer can never drift from the model.
"""

from __future__ import annotations

import logging
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Engine, Table, bindparam, func, insert, select

from vault.audit.canonical import GENESIS_HASH, encode, event_document, link_hash
from vault.audit.checkpoints import Checkpoint
from vault.audit.events import AuditEvent
from vault.audit.loop_commit import ChainBusy
from vault.audit.models import CHECKPOINTS, EVENTS
from vault.audit.tree import TreeWriter
from vault.cursor_reads import PreparedQuery
from vault.db import SQLITE_BUSY_TIMEOUT_MS
from vault.errors import AuditUnavailable
from vault.pg_reads import BEGIN_WRITING, PreparedOnServer, kept_postgres_connections

log = logging.getLogger("vault.audit")

# One arbitrary constant: the PostgreSQL advisory lock that serialises chain appends.
CHAIN_LOCK_KEY = 0x7661756C74A0D17  # "vault" + "audit"

_HEAD = select(EVENTS.c.seq, EVENTS.c.hash).order_by(EVENTS.c.seq.desc()).limit(1)
# The chain's transaction-scoped advisory lock (PostgreSQL), taken before the head is read.
_LOCK = select(func.pg_advisory_xact_lock(bindparam("key", type_=BigInteger())))
_LAST_CHECKPOINT = select(CHECKPOINTS.c.seq).order_by(CHECKPOINTS.c.seq.desc()).limit(1)

Head = tuple[int, bytes]


class ChainTampered(Exception):
    """The chain's head is older than, or differs from, what this process wrote."""

    def __init__(self) -> None:
        super().__init__("the audit chain's head went back: rows were deleted or rewritten")


def columns_of(table: Table) -> list[str]:
    """Every column of a table, in the table's own order (the one row shape of the table)."""
    return [column.key for column in table.columns]


def _row(table: Table, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` as a full row of ``table``: every column named, nothing else."""
    expected = set(columns_of(table))
    if set(values) != expected:
        raise AuditUnavailable("The audit log's row does not match its table.")
    return values


def _head_of(row: Any) -> Head:
    """(seq, hash) of the newest event, or (0, GENESIS_HASH) for an empty chain."""
    if row is None:
        return 0, GENESIS_HASH
    return int(row[0]), bytes(row[1])


def _begin_without_waiting(cursor: Any) -> None:
    """SQLite's write lock now or ``ChainBusy`` (the connection's usual wait restored)."""
    cursor.execute("PRAGMA busy_timeout=0")
    try:
        cursor.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if exc.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            raise ChainBusy() from None
        raise
    finally:
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


def _roll_back(connection: Any) -> None:
    try:
        connection.rollback()
    except Exception:  # noqa: BLE001  (a broken connection: drop it, keep the first error)
        connection.invalidate()


@dataclass(frozen=True)
class _Statements:
    """The chain's statements, compiled once for the writer's dialect."""

    head: PreparedQuery
    insert_events: PreparedQuery
    last_checkpoint: PreparedQuery
    insert_checkpoint: PreparedQuery
    lock: PreparedQuery


class Chain:
    """The chain as one process writes it; remembers the newest head it committed."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        dialect = engine.dialect
        self._statements = _Statements(
            head=PreparedQuery(_HEAD, dialect),
            insert_events=PreparedQuery(insert(EVENTS), dialect, columns_of(EVENTS)),
            last_checkpoint=PreparedQuery(_LAST_CHECKPOINT, dialect),
            insert_checkpoint=PreparedQuery(insert(CHECKPOINTS), dialect, columns_of(CHECKPOINTS)),
            lock=PreparedQuery(_LOCK, dialect),
        )
        # PostgreSQL: the writer's own connections (one for its batches, one for a
        # checkpoint), and the statements prepared on them. Taken from SQLAlchemy's
        # pool, each batch paid a pre-ping and psycopg's own BEGIN: two round trips.
        self._connections = kept_postgres_connections(engine, kept=2)
        self._on_server = PreparedOnServer()
        # The newest (seq, hash) this process committed: the head must never go back.
        self.known_head: Head = (0, GENESIS_HASH)
        # The transparency tree over the chain hashes, extended by every batch.
        self.tree = TreeWriter(dialect)

    @contextmanager
    def transaction(self, *, wait: bool = True) -> Iterator[tuple[Any, Head]]:
        """One transaction holding the chain's lock; yields (cursor, checked head).

        On the bare DBAPI connection: the writer runs for every audited request,
        and SQLAlchemy's execution layer cost more than the insert itself
        (measured: the writer thread held the GIL for 14% of a loaded server).
        Commits when the block ends, rolls back if it raises (a connection that
        cannot even roll back is dropped). ``wait=False`` (SQLite only): raise
        ``ChainBusy`` at once, writing nothing, when another holds the lock.
        """
        if self._engine.dialect.name == "postgresql":
            with self._postgres_transaction() as opened:
                yield opened
            return
        connection = self._engine.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                if wait:
                    # The driver is in autocommit mode: take SQLite's write lock up front.
                    cursor.execute("BEGIN IMMEDIATE")
                else:
                    _begin_without_waiting(cursor)
                head = self._statements.head
                cursor.execute(head.sql, head.parameters({}))
                found = _head_of(cursor.fetchone())
                self._check_not_regressed(found)
                yield cursor, found
                connection.commit()
            except BaseException:
                self.tree.forget()
                _roll_back(connection)
                raise
            finally:
                cursor.close()
        finally:
            connection.close()

    @contextmanager
    def _postgres_transaction(self) -> Iterator[tuple[Any, Head]]:
        connection, found = self._postgres_begin()
        try:
            cursor = connection.cursor()
            try:
                self._check_not_regressed(found)
                yield cursor, found
                connection.commit()
            finally:
                cursor.close()
        except BaseException:
            self.tree.forget()
            connection.close()  # never reused after an error: the server ends the transaction
            raise
        self._connections.give_back(connection)

    def _postgres_begin(self) -> tuple[Any, Head]:
        """A kept connection inside a new transaction holding the lock, and the head.

        BEGIN, the lock and the head go as one query string (one round trip; the
        pool's pre-ping and psycopg's own BEGIN were three more per batch). A kept
        connection the server dropped (a restart) fails on that string before
        anything is written: the batch then begins once more on a new connection.
        """
        import psycopg  # the PostgreSQL driver, present when the store is

        statements = self._statements
        opening = [(statements.lock, {"key": CHAIN_LOCK_KEY}), (statements.head, {})]
        while True:
            connection, kept = self._connections.take()
            try:
                answers = self._on_server.run_together(connection, opening, opening=BEGIN_WRITING)
            except psycopg.OperationalError:
                connection.close()
                if kept:
                    continue  # a kept connection gone stale; a new one gets one try
                raise
            except BaseException:
                connection.close()
                raise
            return connection, _head_of(answers[1][0] if answers[1] else None)

    def close(self) -> None:
        """Close the connections kept for the writer (PostgreSQL)."""
        self._connections.close()

    @contextmanager
    def snapshot(self) -> Iterator[tuple[Any, Head]]:
        """One read-only snapshot of the log, without the chain's lock; yields (cursor, head).

        For work that only reads committed events and may take long (checking the
        events since the last signed head): the writers of other requests and
        processes append meanwhile, and what they add is not seen. Always rolled back.
        """
        connection = self._engine.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                if self._engine.dialect.name == "postgresql":
                    # psycopg began the transaction: one snapshot for every statement.
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                else:
                    # Autocommit driver: a deferred BEGIN, whose first read fixes the snapshot
                    # (in WAL mode it never waits for, nor blocks, a writer).
                    cursor.execute("BEGIN")
                head = self._statements.head
                cursor.execute(head.sql, head.parameters({}))
                yield cursor, _head_of(cursor.fetchone())
            finally:
                cursor.close()
                _roll_back(connection)
        finally:
            connection.close()

    def append(self, cursor: Any, head: Head, events: Sequence[AuditEvent], now: datetime) -> Head:
        """Insert the events after ``head`` (inside ``transaction``); return the new head."""
        insert_rows = self._statements.insert_events
        seq, prev_hash = head
        first = seq
        rows: list[Any] = []
        digests: list[bytes] = []
        for event in events:
            if event.time is None:
                raise AuditUnavailable("An audit event reached the chain without its time.")
            seq += 1
            canonical = encode(event_document(seq, event.time, event))
            digest = link_hash(prev_hash, canonical)
            row = _row(
                EVENTS,
                {
                    "id": uuid.uuid4(),
                    "created_at": now,
                    "updated_at": now,
                    "seq": seq,
                    "time": event.time,
                    "action": event.action,
                    "outcome": event.outcome.value,
                    "actor_id": event.actor_id,
                    "actor_org": event.actor_org,
                    "subject_id": event.subject_id,
                    "break_glass": event.break_glass,
                    "prev_hash": prev_hash,
                    "canonical": canonical,
                    "hash": digest,
                },
            )
            rows.append(insert_rows.parameters(row))
            digests.append(digest)
            prev_hash = digest
        # PostgreSQL: the events and the tree's nodes in one pipeline, one round trip for
        # both while the chain's lock is held (psycopg syncs before any node is read).
        postgres = self._engine.dialect.name == "postgresql"
        with cursor.connection.pipeline() if postgres else nullcontext():
            cursor.executemany(insert_rows.sql, rows)
            self.tree.append(cursor, first, digests)
        return seq, prev_hash

    def committed(self, head: Head) -> None:
        """Remember a head this process saw committed (the chain may only grow from it)."""
        self.known_head = head

    def last_checkpoint_seq(self, cursor: Any) -> int:
        query = self._statements.last_checkpoint
        cursor.execute(query.sql, query.parameters({}))
        last = cursor.fetchone()
        return 0 if last is None else int(last[0])

    def insert_checkpoint(self, cursor: Any, checkpoint: Checkpoint, now: datetime) -> None:
        insert_row = self._statements.insert_checkpoint
        row = _row(
            CHECKPOINTS,
            {
                "id": uuid.uuid4(),
                "created_at": now,
                "updated_at": now,
                "seq": checkpoint.seq,
                "head_hash": checkpoint.head_hash,
                "time": checkpoint.time,
                "key_id": checkpoint.key_id,
                "signature": checkpoint.signature,
            },
        )
        cursor.execute(insert_row.sql, insert_row.parameters(row))

    def _check_not_regressed(self, head: Head) -> None:
        # The chain only grows. A head older than one this process wrote (or the
        # same seq with another hash) means rows were deleted or rewritten: refuse
        # to extend, and vouch for, a chain that was tampered with.
        seq, head_hash = head
        known_seq, known_hash = self.known_head
        if seq < known_seq or (seq == known_seq and head_hash != known_hash):
            log.critical("audit: the chain head went back from seq %d to %d", known_seq, seq)
            raise ChainTampered()
