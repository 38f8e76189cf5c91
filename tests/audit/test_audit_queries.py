"""Compliance queries: filters, keyset pages, exports, disclosures, daily counts."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.audit.conftest import sample_event
from tests.audit.fakes import InterceptedLog
from vault.audit.events import AuditEvent, Outcome
from vault.audit.queries import AuditFilters, AuditQueries, csv_lines, jsonl_lines
from vault.db import Database
from vault.errors import InvalidInput
from vault.vocabulary import EventAction

SUBJECT = uuid.UUID(int=77)
READER = uuid.UUID(int=501)
DAY = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)


@pytest.fixture
def queries(audit_log: InterceptedLog, db: Database) -> AuditQueries:
    """Twelve events: reads of SUBJECT allowed and denied, a break-glass read, other actions."""
    for n in range(6):
        audit_log.append(
            sample_event(
                n,
                subject_id=SUBJECT,
                actor_id=READER,
                time=DAY + timedelta(hours=n),
                outcome=Outcome.ALLOW if n % 2 == 0 else Outcome.DENY,
            )
        )
    audit_log.append(
        sample_event(
            6,
            subject_id=SUBJECT,
            break_glass_id=uuid.UUID(int=9),
            purpose="emergency",
            time=DAY + timedelta(days=1),
        )
    )
    for n in range(7, 12):
        audit_log.append(
            AuditEvent(
                action="auth.login",
                outcome=Outcome.INFO,
                actor_id=uuid.UUID(int=n),
                time=DAY - timedelta(days=1),
            )
        )
    return AuditQueries(db)


def test_filters_combine(queries: AuditQueries) -> None:
    """Subject, actor, action, decision, break-glass and time filters select just their events."""
    page = queries.events(AuditFilters(subject_id=SUBJECT, actor_id=READER, decision=Outcome.DENY))
    assert [event["seq"] for event in page.events] == [2, 4, 6]
    assert [e["seq"] for e in queries.events(AuditFilters(break_glass=True)).events] == [7]
    logins = queries.events(AuditFilters(action="auth.login")).events
    assert [event["seq"] for event in logins] == [8, 9, 10, 11, 12]
    window = AuditFilters(since=DAY + timedelta(hours=1), until=DAY + timedelta(hours=3))
    assert [event["seq"] for event in queries.events(window).events] == [2, 3]


def test_keyset_pages_cover_everything_once(queries: AuditQueries) -> None:
    """Following next_cursor with limit 5 yields every event exactly once, then None."""
    seen: list[int] = []
    cursor: int | None = None
    while True:
        page = queries.events(AuditFilters(limit=5, cursor=cursor))
        seen += [event["seq"] for event in page.events]
        if page.next_cursor is None:
            break
        cursor = AuditFilters.parse_cursor(page.next_cursor)
    assert seen == list(range(1, 13))


def test_bad_cursor_and_limit_are_refused() -> None:
    """A cursor that is not a returned seq, or a limit out of range, is InvalidInput."""
    with pytest.raises(InvalidInput):
        AuditFilters.parse_cursor("1; DROP TABLE audit_events")
    with pytest.raises(InvalidInput):
        AuditFilters(limit=0)
    with pytest.raises(InvalidInput):
        AuditFilters(limit=100_000)


def test_disclosures_list_allowed_reads_only(queries: AuditQueries) -> None:
    """A subject's disclosures are the allowed record reads, with who, why and under what."""
    disclosures = queries.disclosures(SUBJECT)
    assert [d["seq"] for d in disclosures] == [1, 3, 5, 7]
    first = disclosures[0]
    assert first["actor_id"] == str(READER)
    assert first["actor_role"] == "counselor"
    assert first["categories"] == ["psychological"]
    assert first["purpose"] == "counseling"
    assert disclosures[-1]["break_glass"] is True
    assert disclosures[-1]["break_glass_id"] == str(uuid.UUID(int=9))
    assert all(d["action"] == EventAction.RECORD_READ for d in disclosures)
    assert queries.disclosures(uuid.UUID(int=12345)) == []


def test_daily_counts_split_allowed_and_denied(queries: AuditQueries) -> None:
    """Per UTC day: allowed and denied decisions, zero-filled, info events not counted."""
    counts = queries.daily_counts(3, date(2026, 3, 11))
    assert [(c.day, c.allowed, c.denied) for c in counts] == [
        (date(2026, 3, 9), 0, 0),
        (date(2026, 3, 10), 3, 3),
        (date(2026, 3, 11), 1, 0),
    ]


def test_exports_hold_every_matching_event(queries: AuditQueries) -> None:
    """CSV and JSON Lines exports hold the filtered events in seq order, nothing else."""
    filters = AuditFilters(subject_id=SUBJECT)
    lines = list(jsonl_lines(queries.iter_events(filters)))
    assert [json.loads(line)["seq"] for line in lines] == [1, 2, 3, 4, 5, 6, 7]
    rows = list(csv.DictReader(io.StringIO("".join(csv_lines(queries.iter_events(filters))))))
    assert [int(row["seq"]) for row in rows] == [1, 2, 3, 4, 5, 6, 7]
    assert rows[0]["categories"] == "psychological"
    assert rows[6]["break_glass"] == "true"


def test_csv_export_defuses_formulas(audit_log: InterceptedLog, db: Database) -> None:
    """A reason that starts like a spreadsheet formula is exported as text, not a formula."""
    audit_log.append(sample_event(reason='=HYPERLINK("http://evil")'))
    rows = list(
        csv.reader(io.StringIO("".join(csv_lines(AuditQueries(db).iter_events(AuditFilters())))))
    )
    assert rows[1][15] == '\'=HYPERLINK("http://evil")'


def _held_subject(db: Database, organization: str) -> uuid.UUID:
    from vault.subjects.models import Subject

    subject = Subject(organization=organization, nik_index=uuid.uuid4().hex, register_index="r")
    with db.session() as session:
        session.add(subject)
    return subject.id


def test_an_organisation_sees_its_staffs_events_and_its_subjects_events(
    audit_log: InterceptedLog, db: Database
) -> None:
    """An event belongs to the actor's organisation and to the organisation holding its subject."""
    lapas, sentra = "rutan-jakpus", "sentra-handayani"
    held = _held_subject(db, lapas)
    by_lapas = audit_log.append(sample_event(1, actor_org=lapas, subject_id=held))
    by_sentra = audit_log.append(sample_event(2, actor_org=sentra, subject_id=held))
    sentra_alone = audit_log.append(sample_event(3, actor_org=sentra, subject_id=None))
    nobodys = audit_log.append(AuditEvent(action="key.retire", outcome=Outcome.INFO))
    queries = AuditQueries(db)

    def seqs(organization: str) -> list[int]:
        return [e["seq"] for e in queries.events(AuditFilters(organization=organization)).events]

    assert seqs(lapas) == [by_lapas, by_sentra]
    assert seqs(sentra) == [by_sentra, sentra_alone]
    assert nobodys not in seqs(lapas) + seqs(sentra)
    assert seqs("lapas-cipinang") == []
