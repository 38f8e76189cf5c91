"""The rows of the newest matching events, read backwards from the newest, not the whole log.

``AuditQueries.newest`` decodes and rechecks what this returns (``queries._answers``);
here only the rows are found, in one of two ways:

- A filter on a column with an index ordered by ``seq`` (a subject, with or without an
  action; a person; an action) walks that index backwards: first the sequence numbers
  of the column's matches, a batch at a time, from the index alone; then only those
  rows, checked against every filter. A filter with few matches in the whole log (a
  person who acted twice) costs its matches, wherever they lie, not the log's length.
- A filter on refusals or on break-glass reads walks that partial index the same way
  (both are rare: a filter matching almost nothing would otherwise read the whole log).
- Any other filter (an organisation, allowed events, a time range) reads backwards in
  windows of sequence numbers, each wider than the last, so a page costs what lies
  between the newest event and the last one it shows: an organisation's condition is
  an OR the database would otherwise collect whole, then sort.

A time range starts either walk at the events around it, found by the time index.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Connection, Select, TextClause, func, select, text

from vault.audit.events import Outcome
from vault.audit.models import BREAK_GLASS_ONLY, DENIED, EVENTS

if TYPE_CHECKING:
    from vault.audit.queries import AuditFilters

__all__ = ["newest_rows"]

Condition = ColumnElement[bool] | TextClause

WINDOW = 4096  # the first window of sequence numbers, and the margin around a time range
MAX_WINDOW = 1_048_576
INDEX_BATCH = 256  # the first batch of sequence numbers read from a column's index
# The largest batch: one parameter each in the rows' statement, well below SQLite's
# 32,766 and PostgreSQL's 65,535.
MAX_INDEX_BATCH = 4096


def newest_rows(conn: Connection, query: Select[Any], filters: AuditFilters) -> list[Any]:
    """The (seq, canonical) rows of the newest ``filters.limit`` matches of ``query``, newest
    first. ``query`` is the filters' statement, unordered and without a cursor."""
    span = _span(conn, filters)
    if span is None:
        return []
    floor, high = span
    key = _indexed(filters) or _rare(filters, conn.dialect.name)
    if key:
        return _by_index(conn, query, key, floor, high, filters.limit)
    return _by_windows(conn, query, floor, high, filters.limit)


def _indexed(filters: AuditFilters) -> list[Condition]:
    """The filters that one index ordered by ``seq`` answers (empty: none)."""
    if filters.subject_id is not None:
        # ix_audit_events_subject_action_seq, or ix_audit_events_subject_seq.
        key: list[Condition] = [EVENTS.c.subject_id == filters.subject_id]
        if filters.action is not None:
            key.append(EVENTS.c.action == filters.action)
        return key
    if filters.actor_id is not None:
        return [EVENTS.c.actor_id == filters.actor_id]  # ix_audit_events_actor_seq
    if filters.action is not None:
        return [EVENTS.c.action == filters.action]  # ix_audit_events_action_seq
    return []


def _rare(filters: AuditFilters, dialect: str) -> list[Condition]:
    """A filter on refusals or break-glass reads: their partial index (empty: neither)."""
    if filters.decision is Outcome.DENY:
        return [text(DENIED)]  # ix_audit_events_denied_seq
    if filters.break_glass and dialect in BREAK_GLASS_ONLY:
        return [text(BREAK_GLASS_ONLY[dialect])]  # ix_audit_events_break_glass_seq
    return []


def _by_index(
    conn: Connection,
    query: Select[Any],
    key: list[Condition],
    floor: int,
    high: int,
    limit: int,
) -> list[Any]:
    found: list[Any] = []
    batch = INDEX_BATCH
    while high > floor and len(found) < limit:
        seqs = (
            conn.execute(
                select(EVENTS.c.seq)
                .where(*key, EVENTS.c.seq > floor, EVENTS.c.seq <= high)
                .order_by(EVENTS.c.seq.desc())
                .limit(batch)
            )
            .scalars()
            .all()
        )
        if not seqs:
            break
        found += conn.execute(
            query.where(EVENTS.c.seq.in_([int(seq) for seq in seqs]))
            .order_by(EVENTS.c.seq.desc())
            .limit(limit - len(found))
        ).all()
        if len(seqs) < batch:
            break  # the column has no match below these
        high, batch = int(seqs[-1]) - 1, min(batch * 4, MAX_INDEX_BATCH)
    return found


def _by_windows(
    conn: Connection, query: Select[Any], floor: int, high: int, limit: int
) -> list[Any]:
    found: list[Any] = []
    width = WINDOW
    while high > floor and len(found) < limit:
        low = max(floor, high - width)
        found += conn.execute(
            query.where(EVENTS.c.seq > low, EVENTS.c.seq <= high)
            .order_by(EVENTS.c.seq.desc())
            .limit(limit - len(found))
        ).all()
        high, width = low, min(width * 4, MAX_WINDOW)
    return found


def _span(conn: Connection, filters: AuditFilters) -> tuple[int, int] | None:
    """The sequence numbers ``(floor, high]`` that can hold a match; None: none can.

    Bounds found through the time index are widened by a window each way (a clock
    may step back a little); the time filters still apply to every row.
    """
    high = int(conn.execute(select(func.coalesce(func.max(EVENTS.c.seq), 0))).scalar_one())
    floor = 0
    if filters.until is not None:
        last = conn.execute(
            select(EVENTS.c.seq)
            .where(EVENTS.c.time < filters.until)
            .order_by(EVENTS.c.time.desc())
            .limit(1)
        ).scalar()
        if last is None:
            return None
        high = min(high, int(last) + WINDOW)
    if filters.since is not None:
        first = conn.execute(
            select(EVENTS.c.seq)
            .where(EVENTS.c.time >= filters.since)
            .order_by(EVENTS.c.time)
            .limit(1)
        ).scalar()
        if first is None:
            return None
        floor = max(0, int(first) - WINDOW)
    return floor, high
