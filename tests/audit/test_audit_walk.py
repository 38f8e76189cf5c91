"""The newest events of a filter on an indexed column (a person, a subject, an action) are
found through that column's index: a filter with a few matches in the whole log costs its
matches, not a walk back to the log's start; and what is found is still rechecked against
the hashed content."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, select, text, update

from tests.audit.conftest import sample_event
from tests.audit.fakes import InterceptedLog
from vault.audit import walk
from vault.audit.events import Outcome
from vault.audit.models import DENIED, EVENTS
from vault.audit.queries import AuditFilters, AuditQueries
from vault.db import Database

ORG = "rutan-jakpus"
RARE = uuid.UUID(int=4242)  # a person who acted twice, at the log's start
RARE_SUBJECT = uuid.UUID(int=4343)


class Meter:
    """Statements run and SQLite virtual-machine steps (in hundreds) spent on the store."""

    def __init__(self) -> None:
        self.statements = 0
        self.steps = 0

    def count_step(self) -> int:
        self.steps += 1
        return 0


@pytest.fixture
def meter(db: Database) -> Iterator[Meter]:
    """Counts what every statement of the test store costs while the test runs."""
    found = Meter()

    def before(conn: Any, *_: Any) -> None:
        found.statements += 1
        raw = conn.connection.driver_connection
        if hasattr(raw, "set_progress_handler"):
            raw.set_progress_handler(found.count_step, 100)

    event.listen(db.engine, "before_cursor_execute", before)
    yield found
    event.remove(db.engine, "before_cursor_execute", before)


def _fill(audit_log: InterceptedLog, first: int, count: int) -> None:
    for n in range(first, first + count):
        audit_log.append(sample_event(n, outcome=Outcome.DENY if n % 9 == 0 else Outcome.ALLOW))


@pytest.fixture
def queries(
    audit_log: InterceptedLog, db: Database, monkeypatch: pytest.MonkeyPatch
) -> AuditQueries:
    """Two events of a rare person and a rare subject, then 300 of the usual staff; narrow
    windows, so a walk back to the start would take many statements."""
    audit_log.append(sample_event(0, actor_id=RARE, subject_id=RARE_SUBJECT))
    audit_log.append(sample_event(1, actor_id=RARE, outcome=Outcome.DENY))
    _fill(audit_log, 2, 300)
    monkeypatch.setattr(walk, "WINDOW", 8)
    monkeypatch.setattr(walk, "MAX_WINDOW", 32)
    return AuditQueries(db)


def _cost(queries: AuditQueries, meter: Meter, filters: AuditFilters) -> tuple[int, int, list[int]]:
    meter.statements = meter.steps = 0
    found = [int(e["seq"]) for e in queries.newest(filters)]
    return meter.statements, meter.steps, found


@pytest.mark.parametrize(
    "fields",
    [
        {"actor_id": RARE},
        {"actor_id": RARE, "decision": Outcome.DENY},
        {"subject_id": RARE_SUBJECT},
        {"subject_id": RARE_SUBJECT, "action": "record.read"},
    ],
)
def test_a_sparse_filter_costs_its_matches_not_the_log(
    queries: AuditQueries, audit_log: InterceptedLog, meter: Meter, fields: dict[str, Any]
) -> None:
    """A filter matching events only at the log's start takes a few statements, and neither
    they nor the database's steps grow when the log grows tenfold behind them."""
    filters = AuditFilters(organization=ORG, limit=50, **fields)
    statements, steps, found = _cost(queries, meter, filters)
    assert found
    assert max(found) <= 2
    # BEGIN, the log's newest seq, the column's index, the rows, the subjects' organisation.
    assert statements <= 5
    _fill(audit_log, 302, 2700)
    again = _cost(queries, meter, filters)
    assert again[2] == found
    assert again[0] == statements
    # A walk over the 3,000 events would take hundreds of these; a seek a few more.
    assert again[1] <= steps + 5


def test_the_index_walk_takes_batches_until_the_page_is_full(
    queries: AuditQueries, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With small batches, a person's refusals among their reads are gathered over several
    batches of the person's index and equal the tail of every match."""
    monkeypatch.setattr(walk, "INDEX_BATCH", 2)
    monkeypatch.setattr(walk, "MAX_INDEX_BATCH", 8)
    reader = uuid.UUID(int=1000 + 3)
    for limit in (1, 5, 40):
        filters = AuditFilters(
            organization=ORG, actor_id=reader, decision=Outcome.DENY, limit=limit
        )
        every = [
            e["seq"]
            for e in queries.iter_events(
                AuditFilters(organization=ORG, actor_id=reader, decision=Outcome.DENY, limit=1000)
            )
        ]
        assert [e["seq"] for e in queries.newest(filters)] == every[::-1][:limit]


def test_an_event_moved_into_a_sparse_filter_by_its_column_is_left_out(
    queries: AuditQueries, db: Database
) -> None:
    """A database writer who sets another event's actor column to the rare person does not
    make it answer that person's filter: the index walk's rows are rechecked."""
    with db.session() as session:
        session.execute(update(EVENTS).where(EVENTS.c.seq == 200).values(actor_id=RARE))
    found = queries.newest(AuditFilters(organization=ORG, actor_id=RARE))
    assert [int(e["seq"]) for e in found] == [2, 1]


@pytest.mark.parametrize("fields", [{"decision": Outcome.DENY}, {"break_glass": True}])
def test_refusals_or_break_glass_alone_cost_their_matches_not_the_log(
    audit_log: InterceptedLog,
    db: Database,
    meter: Meter,
    monkeypatch: pytest.MonkeyPatch,
    fields: dict[str, Any],
) -> None:
    """A filter on refusals alone, or on break-glass reads alone, matching only events at the
    log's start costs the same statements and about the same steps when the log grows
    tenfold behind them (their partial indexes), where windows would walk back to the start."""
    audit_log.append(sample_event(0, outcome=Outcome.DENY))
    audit_log.append(sample_event(1, break_glass_id=uuid.uuid4(), purpose="emergency"))
    for n in range(2, 302):
        audit_log.append(sample_event(n))
    monkeypatch.setattr(walk, "WINDOW", 8)
    monkeypatch.setattr(walk, "MAX_WINDOW", 32)
    queries = AuditQueries(db)
    filters = AuditFilters(organization=ORG, limit=50, **fields)
    statements, steps, found = _cost(queries, meter, filters)
    assert found == ([1] if "decision" in fields else [2])
    assert statements <= 5
    for n in range(302, 3002):
        audit_log.append(sample_event(n))
    again = _cost(queries, meter, filters)
    assert again[2] == found
    assert again[0] == statements
    assert again[1] <= steps + 5


@pytest.mark.parametrize(
    ("column", "filters"),
    [
        ({"outcome": "deny"}, {"decision": Outcome.DENY}),
        ({"break_glass": True}, {"break_glass": True}),
    ],
)
def test_an_event_flipped_into_a_partial_index_by_its_column_is_left_out(
    audit_log: InterceptedLog,
    db: Database,
    column: dict[str, Any],
    filters: dict[str, Any],
) -> None:
    """A database writer who marks an allowed, ordinary read as refused or as break-glass in
    its filter column puts it into that column's partial index, but not into the answer of a
    filter on refusals or break-glass reads: what the index finds is rechecked against the
    hashed content."""
    audit_log.append(sample_event(0, outcome=Outcome.DENY))
    audit_log.append(sample_event(1, break_glass_id=uuid.uuid4(), purpose="emergency"))
    for n in range(2, 40):
        audit_log.append(sample_event(n))
    with db.session() as session:
        session.execute(update(EVENTS).where(EVENTS.c.seq == 30).values(**column))
    with db.session() as session:
        flipped = session.execute(select(EVENTS.c.seq).where(text(_PARTIAL[next(iter(column))])))
        assert 30 in {int(seq) for (seq,) in flipped}  # the forged row is in the index's range
    found = AuditQueries(db).newest(AuditFilters(organization=ORG, limit=50, **filters))
    assert [int(e["seq"]) for e in found] == ([1] if "decision" in filters else [2])


_PARTIAL = {"outcome": DENIED, "break_glass": "break_glass"}
