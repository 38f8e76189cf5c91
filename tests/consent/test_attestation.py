"""The rules that tie a stored consent grant to the audit events of its signing."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from vault.audit.attesting import SUBJECT_ATTESTING_EVENTS
from vault.audit.canonical import decode, encode, event_document
from vault.audit.events import AuditEvent, Outcome
from vault.consent.attestation import (
    Attestations,
    attested_only,
    expiry_detail,
    recipients_detail,
)
from vault.db import Database
from vault.vocabulary import Category, ConsentGrant

SUBJECT = uuid.uuid4()
CONSENT = uuid.uuid4()
EXPIRES = datetime(2027, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)
GRANT = ConsentGrant(
    CONSENT,
    SUBJECT,
    "counseling",
    frozenset({Category.PSYCHOLOGICAL, Category.PROGRAM}),
    frozenset({"rutan-jakpus"}),
    EXPIRES,
)


def _canonical(seq: int, action: str, outcome: Outcome = Outcome.INFO, **fields: object) -> bytes:
    event = AuditEvent(action=action, outcome=outcome, subject_id=SUBJECT, **fields)  # type: ignore[arg-type]
    return encode(event_document(seq, datetime(2026, 3, 1, tzinfo=UTC), event))


def _signed(*extra: bytes, expires: datetime | None = EXPIRES) -> list[bytes]:
    return [
        _canonical(
            1,
            "consent.sign",
            Outcome.ALLOW,
            target_id=CONSENT,
            consent_id=CONSENT,
            details={"expires_at": expiry_detail(expires)},
        ),
        _canonical(
            2,
            "consent.grant",
            target_id=CONSENT,
            consent_id=CONSENT,
            purpose="counseling",
            categories=("program", "psychological"),
            details={"recipients": recipients_detail(["rutan-jakpus"])},
        ),
        *extra,
    ]


def test_a_grant_exactly_as_signed_is_attested() -> None:
    """A grant exactly as signed is attested."""
    assert Attestations.from_canonical(_signed()).problem(GRANT) is None
    assert attested_only([GRANT], map(decode, _signed())) == [GRANT]


@pytest.mark.parametrize(
    ("tampered", "why"),
    [
        (replace(GRANT, purpose="health_treatment"), "was not granted"),
        (replace(GRANT, categories=GRANT.categories | {Category.HEALTH_SENSITIVE}), "differ"),
        (replace(GRANT, recipients=frozenset({"rutan-jakpus", "bnn-sentra"})), "differ"),
        (replace(GRANT, expires_at=EXPIRES + timedelta(days=365)), "expiry"),
        (replace(GRANT, expires_at=None), "expiry"),
        (replace(GRANT, consent_id=uuid.uuid4()), "no signing"),
    ],
)
def test_a_grant_changed_in_the_tables_is_not_attested(tampered: ConsentGrant, why: str) -> None:
    """A grant changed in the tables is not attested."""
    problem = Attestations.from_canonical(_signed()).problem(tampered)
    assert problem is not None
    assert why in problem
    assert attested_only([tampered, GRANT], map(decode, _signed())) == [GRANT]


@pytest.mark.parametrize("ending", ["consent.withdraw", "consent.supersede"])
def test_an_ended_consent_is_not_attested_whatever_the_tables_say(ending: str) -> None:
    """An ended consent is not attested whatever the tables say."""
    events = _signed(_canonical(3, ending, target_id=CONSENT, consent_id=CONSENT))
    assert "withdrawn or superseded" in (Attestations.from_canonical(events).problem(GRANT) or "")


def test_a_signing_whose_write_failed_attests_nothing() -> None:
    """A signing whose write failed attests nothing."""
    events = _signed(_canonical(3, "consent.sign", Outcome.ERROR, target_id=CONSENT))
    assert "never written" in (Attestations.from_canonical(events).problem(GRANT) or "")


def test_a_consent_without_expiry_is_attested_as_such() -> None:
    """A consent without expiry is attested as such."""
    open_ended = replace(GRANT, expires_at=None)
    assert Attestations.from_canonical(_signed(expires=None)).problem(open_ended) is None


def test_long_recipient_lists_are_recorded_by_digest() -> None:
    """Long recipient lists are recorded by digest."""
    many = [f"sentra-{n:03d}-{'x' * 40}" for n in range(10)]
    detail = recipients_detail(many)
    assert detail.startswith("sha256:")
    assert detail == recipients_detail(reversed(many))  # order does not matter


def test_the_attesting_events_of_a_subject_are_found_by_index(db: Database) -> None:
    """Every read looks these up, and a subject gains an audit event per read: the
    lookup must go by (subject, action), not walk all of the subject's events."""
    if not db.is_sqlite:
        pytest.skip("the plan is checked on SQLite (PostgreSQL plans by table statistics)")
    sql = str(SUBJECT_ATTESTING_EVENTS.compile(dialect=db.engine.dialect))
    with db.engine.connect() as conn:
        plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, (uuid.uuid4().hex,)).all()
    assert any("ix_audit_events_subject_action_seq" in str(step) for step in plan), plan
