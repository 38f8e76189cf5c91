"""Per-day counts of an organisation's events, kept up to date from the log by a cursor.

The dashboard's chart of decisions per day and the charts page
(``vault.workbench.charts``) read these counts, never the raw events. Each look
first feeds the counts the organisation's events appended since the stored
cursor (``workbench_count_cursors``), like the alert rules do
(``vault.audit.alert_store``), then moves the cursor to the log's last
sequence number: a page load reads what is new, never its whole window again.
The first look counts every event of the organisation once.

What is counted, per UTC day of the event's time (``workbench_day_counts``):

- ``decision``: every allowed or refused event (the dashboard's chart);
- ``org``, ``purpose``, ``role``: record reads, allowed or refused, by reading
  organisation, declared purpose and reader's role (read from the canonical
  event, the bytes the chain hashes);
- ``glass``: break-glass grants opened.

The database does the counting (``_groups``: one grouped query per window of
sequence numbers, its JSON functions reading the canonical bytes), so a first
look over ten million events is not ten million decodes in Python; ``recount``,
for checks, decodes every event in Python instead, and must give the same.

An event is counted for an organisation when it belongs to it at the moment it
is counted (``vault.audit.scope``): a subject moved to another organisation
later leaves its earlier events counted where they were. Two looks at once
count the same span; the one that stores second finds the cursor moved and
stores nothing, so no event is counted twice.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    String,
    Text,
    bindparam,
    case,
    cast,
    func,
    insert,
    literal_column,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from vault.audit.canonical import decode
from vault.audit.models import EVENTS
from vault.audit.scope import events_of
from vault.db import READ_ONLY_OPTION, Database
from vault.vocabulary import EventAction
from vault.workbench.day_count_models import DayCountCursorRow, DayCountRow

__all__ = [
    "Key",
    "count_events",
    "count_groups",
    "counts_since",
    "daily",
    "recount",
    "refresh",
    "totals",
]

WINDOW = 8192  # sequence numbers read at a time, every event returned
GROUP_WINDOW = 65_536  # sequence numbers counted at a time, only their groups returned
LABEL_MAX = 64
DECISIONS = ("allow", "deny")
READ = EventAction.RECORD_READ.value
GLASS = EventAction.BREAK_GLASS_OPEN.value
# (day, kind, label, outcome)
Key = tuple[date, str, str, str]
TABLE = DayCountRow.__table__  # type: ignore[attr-defined]  # SQLModel sets __table__
C = TABLE.c


def _day(moment: datetime) -> date:
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return utc.date()


def _label(value: object) -> str:
    return str(value or "-")[:LABEL_MAX]


def count_events(rows: Iterator[tuple[Any, ...]]) -> Counter[Key]:
    """The counts of ``(time, action, outcome, canonical)`` rows (see the module), each
    event decoded in Python: ``count_groups`` of one-event groups."""

    def one_event_groups() -> Iterator[tuple[Any, ...]]:
        for moment, action, outcome, canonical in rows:
            event = decode(bytes(canonical)) if action == READ else {}
            reader = (event.get("actor_org"), event.get("purpose"), event.get("actor_role"))
            yield (_day(moment).isoformat(), action, outcome, *reader, 1)

    return count_groups(one_event_groups())[0]


def _events(
    conn: Connection, organization: str, after: int, upto: int
) -> Iterator[tuple[Any, ...]]:
    """The organisation's events with ``after < seq <= upto``, in chain order.

    Read a window of sequence numbers at a time: the organisation's condition is an
    OR the database answers by collecting every match of the range before sorting,
    so an open-ended range read in chunks would read the rest of the log per chunk.
    """
    while after < upto:
        high = min(upto, after + WINDOW)
        rows = conn.execute(
            select(EVENTS.c.time, EVENTS.c.action, EVENTS.c.outcome, EVENTS.c.canonical)
            .where(events_of(organization), EVENTS.c.seq > after, EVENTS.c.seq <= high)
            .order_by(EVENTS.c.seq)
        ).all()
        for row in rows:
            yield tuple(row)
        after = high


def _reader(db: Database) -> Any:
    return db.engine.execution_options(**{READ_ONLY_OPTION: True})


def refresh(db: Database, organization: str) -> int:
    """Count the organisation's events appended since the cursor; return how many were read."""
    with db.read_session() as session:
        cursor = session.get(DayCountCursorRow, organization)
        after = None if cursor is None else cursor.last_seq
    with _reader(db).connect() as conn:
        upto = int(conn.execute(select(func.coalesce(func.max(EVENTS.c.seq), 0))).scalar_one())
        if after is not None and upto <= after:
            return 0
        counts, seen = count_groups(_groups(conn, organization, after or 0, upto))
    # A look at the same moment may store the same span first: its counts stand.
    with contextlib.suppress(IntegrityError):
        _store(db, organization, counts, after, upto)
    return seen


def count_groups(groups: Iterable[tuple[Any, ...]]) -> tuple[Counter[Key], int]:
    """``count_events`` of events the database grouped (``_groups``); and how many they were."""
    counts: Counter[Key] = Counter()
    seen = 0
    for day_text, action, outcome, reader_org, purpose, role, n in groups:
        seen += int(n)
        if str(outcome) not in DECISIONS:
            continue
        day, outcome = date.fromisoformat(str(day_text)), str(outcome)
        counts[(day, "decision", "", outcome)] += int(n)
        if action == READ:
            counts[(day, "org", _label(reader_org), outcome)] += int(n)
            counts[(day, "purpose", _label(purpose), outcome)] += int(n)
            counts[(day, "role", _label(role), outcome)] += int(n)
        elif action == GLASS and outcome == "allow":
            counts[(day, "glass", "", outcome)] += int(n)
    return counts, seen


def _groups(
    conn: Connection, organization: str, after: int, upto: int
) -> Iterator[tuple[Any, ...]]:
    """The organisation's events with ``after < seq <= upto`` grouped by what is counted:
    (UTC day, action, outcome, and for record reads the reader's organisation, purpose
    and role from the canonical event), with how many of each.

    The database does the counting, so a first look over ten million events hands
    Python a few rows per day instead of every event to decode. Windows of sequence
    numbers, as in ``_events``; wider, since each answers only its groups.
    """
    dialect = conn.dialect.name
    reading = EVENTS.c.action == READ
    fields = [
        case((reading, _content(dialect, name)), else_=None).label(name)
        for name in ("actor_org", "purpose", "actor_role")
    ]
    day = _utc_day(dialect).label("day")
    keys = [day, EVENTS.c.action, EVENTS.c.outcome, *fields]
    while after < upto:
        high = min(upto, after + GROUP_WINDOW)
        yield from conn.execute(
            select(*keys, func.count())
            .where(events_of(organization), EVENTS.c.seq > after, EVENTS.c.seq <= high)
            .group_by(*keys)
        ).all()
        after = high


def _utc_day(dialect: str) -> ColumnElement[Any]:
    """The event's UTC day as 'YYYY-MM-DD' (SQLite keeps UTC times as text)."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", EVENTS.c.time), "YYYY-MM-DD", type_=String)
    return func.substr(EVENTS.c.time, 1, 10, type_=String)


def _content(dialect: str, name: str) -> ColumnElement[Any]:
    """One top-level field of the canonical event, read by the database."""
    if dialect == "postgresql":
        return literal_column(f"(convert_from(audit_events.canonical, 'UTF8')::json ->> '{name}')")
    return func.json_extract(cast(EVENTS.c.canonical, Text), f"$.{name}")


def _store(
    db: Database, organization: str, counts: Counter[Key], after: int | None, upto: int
) -> None:
    with db.session() as session:
        if after is None:
            session.add(DayCountCursorRow(organization=organization, last_seq=upto))
            session.flush()  # a second first look fails here, before counting anything
        else:
            moved = session.execute(
                update(DayCountCursorRow)
                .where(col(DayCountCursorRow.organization) == organization)
                .where(col(DayCountCursorRow.last_seq) == after)
                .values(last_seq=upto)
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]  # a CursorResult for UPDATE
                return  # another look stored this span already
        # The rows of the days touched, read at once: a first look touches every day of
        # the history, and one lookup per row would cost more than the counting.
        stored = {
            (day, kind, label, outcome): n
            for day, kind, label, outcome, n in session.execute(
                select(C.day, C.kind, C.label, C.outcome, C.count).where(
                    C.organization == organization, C.day.in_({key[0] for key in counts})
                )
            ).all()
        }
        fresh = [
            {
                "organization": organization,
                "day": k[0],
                "kind": k[1],
                "label": k[2],
                "outcome": k[3],
                "count": n,
            }
            for k, n in counts.items()
            if k not in stored
        ]
        grown = [
            {"d": k[0], "k": k[1], "l": k[2], "o": k[3], "n": stored[k] + n}
            for k, n in counts.items()
            if k in stored
        ]
        if fresh:
            session.execute(insert(TABLE), fresh)
        if grown:
            session.execute(
                update(TABLE)
                .where(
                    C.organization == organization,
                    C.day == bindparam("d"),
                    C.kind == bindparam("k"),
                    C.label == bindparam("l"),
                    C.outcome == bindparam("o"),
                )
                .values(count=bindparam("n")),
                grown,
            )


def counts_since(db: Database, organization: str, first: date) -> Counter[Key]:
    """Every stored count of the organisation from ``first`` on (after a refresh)."""
    refresh(db, organization)
    rows = _rows(
        db,
        select(C.day, C.kind, C.label, C.outcome, C.count).where(
            C.organization == organization, C.day >= first
        ),
    )
    return Counter({(day, kind, label, outcome): int(n) for day, kind, label, outcome, n in rows})


def totals(
    db: Database, organization: str, first: date, last: date
) -> Counter[tuple[str, str, str]]:
    """The counts of ``first``..``last`` summed per (kind, label, outcome), without a refresh."""
    rows = _rows(
        db,
        select(C.kind, C.label, C.outcome, func.sum(C.count))
        .where(C.organization == organization, C.day >= first, C.day <= last)
        .group_by(C.kind, C.label, C.outcome),
    )
    return Counter({(kind, label, outcome): int(n) for kind, label, outcome, n in rows})


def daily(
    db: Database, organization: str, kind: str, first: date
) -> Counter[tuple[date, str, str]]:
    """The counts of one kind per (day, label, outcome) from ``first`` on, without a refresh."""
    rows = _rows(
        db,
        select(C.day, C.label, C.outcome, C.count).where(
            C.organization == organization, C.kind == kind, C.day >= first
        ),
    )
    return Counter({(day, label, outcome): int(n) for day, label, outcome, n in rows})


def _rows(db: Database, query: Any) -> list[Any]:
    with _reader(db).connect() as conn:
        return list(conn.execute(query).all())


def recount(db: Database, organization: str, first: date) -> Counter[Key]:
    """The same counts computed from nothing over every event of the organisation (for checks)."""
    with _reader(db).connect() as conn:
        upto = int(conn.execute(select(func.coalesce(func.max(EVENTS.c.seq), 0))).scalar_one())
        counts = count_events(_events(conn, organization, 0, upto))
    return Counter({key: n for key, n in counts.items() if key[0] >= first})
