"""The database writer against the audit log's filter columns: an event's indexed columns
(actor, organisation, subject, action, outcome, time) rewritten so that it answers a filter
it does not match is left out of the answer, whose every event is checked against the
hashed content it is decoded from."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from tests.audit.conftest import sample_event
from tests.audit.fakes import InterceptedLog
from vault.audit.events import AuditEvent, Outcome
from vault.audit.models import EVENTS
from vault.audit.queries import AuditFilters, AuditQueries
from vault.db import Database

LAPAS, OTHER = "rutan-jakpus", "lapas-cipinang"
SUBJECT = uuid.UUID(int=77)
READER = uuid.UUID(int=501)
DAY = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)


def _rewrite(db: Database, seq: int, **columns: Any) -> None:
    """Change an event's indexed columns straight in the database (its content stays)."""
    with db.session() as session:
        session.execute(update(EVENTS).where(EVENTS.c.seq == seq).values(**columns))


def _seqs(queries: AuditQueries, **filters: Any) -> list[int]:
    page = queries.events(AuditFilters(**filters)).events
    newest = queries.newest(AuditFilters(**filters))
    assert sorted(e["seq"] for e in newest) == [e["seq"] for e in page]
    return [int(e["seq"]) for e in page]


@pytest.fixture
def events(audit_log: InterceptedLog) -> dict[str, int]:
    """A read of SUBJECT by READER of the lapas, and another organisation's login."""
    read = audit_log.append(sample_event(1, subject_id=SUBJECT, actor_id=READER, time=DAY))
    other = audit_log.append(
        AuditEvent(
            action="auth.login",
            outcome=Outcome.DENY,
            actor_id=uuid.UUID(int=900),
            actor_role="counselor",
            actor_org=OTHER,
            time=DAY + timedelta(days=3),
        )
    )
    return {"read": read, "other": other}


@pytest.mark.parametrize(
    ("columns", "filters"),
    [
        ({"actor_org": LAPAS}, {"organization": LAPAS}),
        ({"subject_id": SUBJECT}, {"subject_id": SUBJECT}),
        ({"actor_id": READER}, {"actor_id": READER}),
        ({"action": "record.read", "outcome": "allow"}, {"action": "record.read"}),
        ({"outcome": "allow"}, {"decision": Outcome.ALLOW}),
        ({"break_glass": True}, {"break_glass": True}),
        ({"time": DAY}, {"until": DAY + timedelta(hours=1)}),
    ],
)
def test_an_event_whose_columns_were_rewritten_does_not_answer_the_filter(
    db: Database, events: dict[str, int], columns: dict[str, Any], filters: dict[str, Any]
) -> None:
    """Another organisation's login, its columns made to match the filter, is not listed."""
    queries = AuditQueries(db)
    assert events["other"] not in _seqs(queries, **filters)
    _rewrite(db, events["other"], **columns)
    assert events["other"] not in _seqs(queries, **filters)


def test_a_login_dressed_as_a_read_is_no_disclosure(db: Database, events: dict[str, int]) -> None:
    """The accounting of disclosures lists only reads the hashed content records."""
    _rewrite(db, events["other"], subject_id=SUBJECT, action="record.read", outcome="allow")
    listed = [d["seq"] for d in AuditQueries(db).disclosures(SUBJECT)]
    assert listed == [events["read"]]


def test_events_matching_by_content_are_still_listed(db: Database, events: dict[str, int]) -> None:
    """The check drops nothing that matches: the read answers each of its own filters."""
    queries = AuditQueries(db)
    for filters in (
        {"subject_id": SUBJECT},
        {"actor_id": READER},
        {"action": "record.read", "decision": Outcome.ALLOW},
        {"since": DAY, "until": DAY + timedelta(seconds=1)},
    ):
        assert _seqs(queries, **filters) == [events["read"]]
