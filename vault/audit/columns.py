"""The filter columns of audit events checked against their hashed content.

The API filters on ``time``, ``action``, ``outcome``, ``actor_id``,
``actor_org``, ``subject_id`` and ``break_glass`` (a subject's disclosures, an
actor's events, a time range), so a column re-pointed behind the vault's back
would hide an event from those views while the hash chain still verified.
``vault.audit.verify`` runs this check beside its chain walk.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Generator
from typing import Any

from sqlalchemy import Connection, Engine, Select, TextClause, func, select, text
from sqlalchemy.exc import DBAPIError

from vault.audit.canonical import format_time
from vault.audit.models import EVENTS
from vault.errors import AuditUnavailable

__all__ = ["INDEX_RANGE", "STREAM_CHUNK", "IndexCheck", "first_index_mismatch", "stream_rows"]

# Rows fetched from the driver at a time: big enough that the fetch loop costs
# nothing beside hashing, small enough to bound memory (~20 MB of events).
STREAM_CHUNK = 50_000
# Events per query of the check (the unit the checking threads share).
INDEX_RANGE = 50_000


class IndexCheck:
    """The filter-column check of every event present now, in ranges of ``seq``.

    A worker thread checks the ranges in order, one query each (the database does
    the work, the GIL released); when the chain walk ends first, its thread takes
    the ranges left, so on two cores neither waits for the other. A range that
    could not be checked (an error) fails the whole check: never read as clean.
    """

    def __init__(self, reader: Engine, since: int) -> None:
        self._reader = reader
        with reader.connect() as conn, conn.begin():
            found = conn.execute(select(func.max(EVENTS.c.seq))).scalar()
        head = since if found is None else int(found)
        self._ranges = [
            (low, min(head, low + INDEX_RANGE)) for low in range(since, head, INDEX_RANGE)
        ]
        self._found: list[int | None] = [None] * len(self._ranges)
        self._next = 0
        self._lock = threading.Lock()
        self._failed: list[Exception] = []
        self._worker = threading.Thread(target=self._work, name="vault-audit-verify", daemon=True)
        self._worker.start()

    def _work(self) -> None:
        with contextlib.suppress(Exception):  # kept in _failed, raised by first_bad_seq
            self._drain()

    def _take(self) -> int | None:
        with self._lock:
            # Past a range with a mismatch, nothing later can be the first one.
            if self._next >= len(self._ranges) or any(
                seq is not None for seq in self._found[: self._next]
            ):
                return None
            self._next += 1
            return self._next - 1

    def _drain(self) -> None:
        try:
            with self._reader.connect() as conn:
                while (index := self._take()) is not None:
                    low, high = self._ranges[index]
                    with conn.begin():
                        self._found[index] = first_index_mismatch(conn, high + 1, low)
        except Exception as exc:  # a range left unchecked must not read as clean
            with self._lock:
                self._failed.append(exc)
                self._next = len(self._ranges)
            raise

    def first_bad_seq(self) -> int | None:
        """The first mismatching seq; raises what stopped a range from being checked."""
        try:
            self._drain()  # this thread helps with the ranges nobody took yet
        finally:
            self._worker.join()
        if self._failed:
            raise self._failed[0]
        return next((seq for seq in self._found if seq is not None), None)


_INDEXED = select(
    EVENTS.c.seq,
    EVENTS.c.prev_hash,
    EVENTS.c.canonical,
    EVENTS.c.hash,
    EVENTS.c.time,
    EVENTS.c.action,
    EVENTS.c.outcome,
    EVENTS.c.actor_id,
    EVENTS.c.subject_id,
    EVENTS.c.break_glass,
    EVENTS.c.actor_org,
).order_by(EVENTS.c.seq)

# The first row whose filter columns differ from its canonical JSON, found by the
# database itself (one query in C, about half the cost of the chain walk). Both
# compare NULL safely; SQLite keeps UUIDs as 32 hex digits and times as
# 'YYYY-MM-DD HH:MM:SS.ffffff' (the content's time, its 'T' a space, is that and 'Z':
# one replace a row, not two).
_FIRST_INDEX_MISMATCH = {
    "sqlite": """
SELECT min(seq) FROM (
  SELECT seq, action, outcome, actor_id, actor_org, subject_id, break_glass, time,
         CAST(canonical AS TEXT) AS j
  FROM audit_events WHERE seq < :limit AND seq > :since)
WHERE json_extract(j, '$.action') IS NOT action
   OR json_extract(j, '$.actor_org') IS NOT actor_org
   OR json_extract(j, '$.outcome') IS NOT outcome
   OR replace(json_extract(j, '$.actor_id'), '-', '') IS NOT actor_id
   OR replace(json_extract(j, '$.subject_id'), '-', '') IS NOT subject_id
   OR json_extract(j, '$.break_glass') IS NOT break_glass
   OR replace(json_extract(j, '$.time'), 'T', ' ') IS NOT time || 'Z'
""",
    # One parse a row: json_to_record reads the text once into typed columns. (A
    # subquery's ``::jsonb AS j`` is inlined by the planner into each of the seven
    # comparisons, parsing every event seven times: 5x slower.)
    "postgresql": """
SELECT min(e.seq) FROM audit_events e,
  json_to_record(convert_from(e.canonical, 'UTF8')::json) AS j(
    action text, actor_org text, outcome text, actor_id uuid, subject_id uuid,
    break_glass boolean, "time" timestamptz)
WHERE e.seq < :limit AND e.seq > :since
  AND (j.action IS DISTINCT FROM e.action
   OR j.actor_org IS DISTINCT FROM e.actor_org
   OR j.outcome IS DISTINCT FROM e.outcome
   OR j.actor_id IS DISTINCT FROM e.actor_id
   OR j.subject_id IS DISTINCT FROM e.subject_id
   OR j.break_glass IS DISTINCT FROM e.break_glass
   OR j."time" IS DISTINCT FROM e.time)
""",
}


def first_index_mismatch(conn: Connection, limit: int, since: int = 0) -> int | None:
    """The first seq in ``since + 1..limit - 1`` whose filter columns lie about its content."""
    query = _FIRST_INDEX_MISMATCH.get(conn.dialect.name)
    if query is not None:
        try:
            with conn.begin_nested():
                found = conn.execute(text(query), {"limit": limit, "since": since}).scalar()
            return None if found is None else int(found)
        except DBAPIError:
            pass  # content the database cannot parse: find the row the slow way below
    matches = _index_checker(conn.dialect.name)
    for chunk in stream_rows(conn, _INDEXED.where(EVENTS.c.seq > since)):
        for row in chunk:
            if row[0] >= limit:
                return None
            if not matches(row):
                return int(row[0])
    return None


def _index_checker(dialect: str) -> Callable[[tuple[Any, ...]], bool]:
    """Whether a row's filter columns say what its canonical bytes say.

    The API filters on these columns (a subject's disclosures, an actor's events,
    a time range), so a column re-pointed behind the vault's back would hide an
    event from those views while the hash chain still verified. The check looks
    for the exact ``"key":value`` snippets in the canonical JSON: with sorted keys
    and escaped strings, such a snippet can only stand at that key.
    """
    if dialect == "sqlite":  # UUIDs as 32 hex digits, times as 'YYYY-MM-DD HH:MM:SS.ffffff'

        def uuid_text(value: Any) -> str:
            return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"

        def time_text(value: Any) -> str:
            return str(value)[:26].replace(" ", "T") + "Z"

    else:

        def uuid_text(value: Any) -> str:
            return str(value)

        def time_text(value: Any) -> str:
            return format_time(value)

    def snippet_id(key: bytes, value: Any) -> bytes:
        if value is None:
            return key + b"null"
        return key + b'"' + uuid_text(value).encode() + b'"'

    def matches(row: tuple[Any, ...]) -> bool:
        _seq, _prev, canonical, _hash, moment, action, outcome, actor, subject, glass, org = row
        return (
            b'"action":"' + str(action).encode() + b'"' in canonical
            and b'"outcome":"' + str(outcome).encode() + b'"' in canonical
            and b'"time":"' + time_text(moment).encode() + b'"' in canonical
            and snippet_id(b'"actor_id":', actor) in canonical
            and snippet_id(b'"subject_id":', subject) in canonical
            and (b'"break_glass":true' if glass else b'"break_glass":false') in canonical
            and b'"actor_org":' + json.dumps(org, ensure_ascii=False).encode() in canonical
        )

    return matches


def stream_rows(
    conn: Connection, query: Select[Any] | TextClause
) -> Generator[list[tuple[Any, ...]], None, None]:
    """Every event in seq order, as lists of plain tuples straight from the driver.

    One query on the DBAPI cursor, read with ``fetchmany``: SQLAlchemy's result
    rows, one object per event, cost more than hashing them. PostgreSQL gets a
    named (server-side) cursor so memory stays bounded; it is closed when
    verification stops, early or not. Both drivers return int and bytes.
    """
    driver = conn.connection.driver_connection
    if driver is None:  # a live connection inside conn.begin() always has one
        raise AuditUnavailable("The audit log's store connection is closed.")
    # Only integers are bound (``seq > since``): rendered inline, one plain statement.
    sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    if conn.dialect.name == "postgresql":
        cursor = driver.cursor(name="vault_audit_verify")
        cursor.itersize = STREAM_CHUNK
    else:
        cursor = driver.cursor()
    try:
        cursor.execute(sql)
        while chunk := cursor.fetchmany(STREAM_CHUNK):
            yield chunk
    finally:
        cursor.close()
