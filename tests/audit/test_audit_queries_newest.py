"""The newest events read backwards in windows of sequence numbers, or through a column's
index in batches: the same answer as reading every match, whatever the filters, the page
size, the windows' width or the batches' size."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.audit.conftest import sample_event
from tests.audit.fakes import InterceptedLog
from vault.audit import walk as module
from vault.audit.events import Outcome
from vault.audit.queries import AuditFilters, AuditQueries
from vault.db import Database

START = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
READER = uuid.UUID(int=1003)
SUBJECT = uuid.UUID(int=3)


@pytest.fixture
def queries(
    audit_log: InterceptedLog, db: Database, monkeypatch: pytest.MonkeyPatch
) -> AuditQueries:
    """Three hundred events a minute apart, some refused, a few of another kind; narrow
    windows and small batches."""
    for n in range(300):
        fields: dict[str, Any] = {"time": START + timedelta(minutes=n)}
        if n % 11 == 0:
            fields["outcome"] = Outcome.DENY
        if n % 50 == 0:
            fields["action"] = "break_glass.open"
        if n % 3 == 0:
            fields["actor_org"] = "lapas-cipinang"
        audit_log.append(sample_event(n, **fields))
    monkeypatch.setattr(module, "WINDOW", 8)
    monkeypatch.setattr(module, "MAX_WINDOW", 32)
    monkeypatch.setattr(module, "INDEX_BATCH", 2)
    monkeypatch.setattr(module, "MAX_INDEX_BATCH", 8)
    return AuditQueries(db)


def _every_match(queries: AuditQueries, filters: AuditFilters) -> list[dict[str, Any]]:
    every = list(queries.iter_events(replace(filters, limit=1000)))
    return every[::-1][: filters.limit]


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"actor_id": READER},
        {"decision": Outcome.DENY},
        {"action": "break_glass.open"},
        {"actor_id": READER, "decision": Outcome.DENY},
        {"subject_id": SUBJECT},
        {"subject_id": SUBJECT, "action": "break_glass.open"},
        {"subject_id": SUBJECT, "decision": Outcome.DENY, "since": START + timedelta(hours=2)},
        {"action": "break_glass.open", "until": START + timedelta(hours=3)},
        {"since": START + timedelta(minutes=40), "until": START + timedelta(minutes=95)},
        {"until": START + timedelta(minutes=20)},
        {"since": START + timedelta(minutes=290)},
        {"since": START + timedelta(days=2)},
        {"until": START - timedelta(days=1)},
    ],
)
@pytest.mark.parametrize("limit", [1, 7, 50, 1000])
def test_the_windowed_walk_answers_what_reading_every_match_answers(
    queries: AuditQueries, fields: dict[str, Any], limit: int
) -> None:
    """For an organisation and each filter, the newest page equals the tail of all matches."""
    filters = AuditFilters(organization="rutan-jakpus", limit=limit, **fields)
    found = queries.newest(filters)
    assert found == _every_match(queries, filters)
    assert [e["seq"] for e in found] == sorted((e["seq"] for e in found), reverse=True)
