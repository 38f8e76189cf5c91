"""``vault.consent.views``: a consent's status at a moment, and its grants as stored."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from vault.consent.tables import Consent, ConsentEnding, ConsentPurpose, EndingKind
from vault.consent.views import (
    ConsentRecord,
    ConsentStatus,
    PurposeDecision,
    join_codes,
    split_codes,
    stored_grant,
)
from vault.vocabulary import Category

SIGNED = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
EXPIRES = SIGNED + timedelta(days=365)
SUBJECT = uuid.UUID(int=1)


def _consent() -> Consent:
    return Consent(
        subject_id=SUBJECT,
        form_id="rehabilitation",
        form_version=1,
        language="id",
        text_sha256="0" * 64,
        signed_at=SIGNED,
        expires_at=EXPIRES,
        witness_id=uuid.UUID(int=2),
        witness_org="lapas-a",
        method="pin",
        signed_by="subject",
        receipt_id=uuid.uuid4(),
        receipt_jws="x.y.z",
    )


def _record(ending: ConsentEnding | None = None, *purposes: PurposeDecision) -> ConsentRecord:
    return ConsentRecord(_consent(), purposes, ending)


def _ending(kind: EndingKind, at: datetime) -> ConsentEnding:
    return ConsentEnding(consent_id=uuid.uuid4(), kind=kind.value, at=at, actor_kind="staff")


def test_codes_round_trip_and_empty_parts_vanish() -> None:
    """Codes are stored comma-joined; reading them back drops empty pieces."""
    assert split_codes(join_codes(["counseling", "statistics"])) == ("counseling", "statistics")
    assert split_codes("") == ()
    assert split_codes("a,,b,") == ("a", "b")


def test_stored_grant_parses_categories_and_recipients() -> None:
    """A stored purpose becomes a grant with typed categories and a set of recipients."""
    grant = stored_grant(
        uuid.UUID(int=5),
        SUBJECT,
        "counseling",
        "psychological,program",
        "lapas-a,sentra-b",
        EXPIRES,
    )
    assert grant.categories == {Category.PSYCHOLOGICAL, Category.PROGRAM}
    assert grant.recipients == {"lapas-a", "sentra-b"}
    assert (grant.purpose, grant.expires_at) == ("counseling", EXPIRES)


def test_purpose_row_becomes_a_decision() -> None:
    """A stored purpose row reads back as the decision made at signing."""
    row = ConsentPurpose(
        consent_id=uuid.uuid4(),
        subject_id=SUBJECT,
        purpose="health_treatment",
        granted=False,
        categories="health_sensitive",
        recipients="lapas-a",
    )
    assert PurposeDecision.from_row(row) == PurposeDecision(
        "health_treatment", False, (Category.HEALTH_SENSITIVE,), ("lapas-a",)
    )


def test_active_until_expiry_then_expired() -> None:
    """With no ending a consent is active before its expiry and expired from it on."""
    record = _record()
    assert record.status(EXPIRES - timedelta(seconds=1)) is ConsentStatus.ACTIVE
    assert record.ended_at(EXPIRES - timedelta(seconds=1)) is None
    assert record.status(EXPIRES) is ConsentStatus.EXPIRED
    assert record.ended_at(EXPIRES + timedelta(days=3)) == EXPIRES


def test_withdrawal_takes_effect_at_its_time_not_before() -> None:
    """Asked about a moment before the withdrawal, the consent was still active."""
    withdrawn_at = SIGNED + timedelta(days=10)
    record = _record(_ending(EndingKind.WITHDRAWN, withdrawn_at))
    assert record.status(withdrawn_at - timedelta(seconds=1)) is ConsentStatus.ACTIVE
    assert record.status(withdrawn_at) is ConsentStatus.WITHDRAWN
    assert record.ended_at(withdrawn_at + timedelta(days=1)) == withdrawn_at


def test_recipients_are_those_of_granted_purposes_only() -> None:
    """A refused purpose names no organisation that may receive the data."""
    record = _record(
        None,
        PurposeDecision("counseling", True, (Category.PSYCHOLOGICAL,), ("lapas-a",)),
        PurposeDecision("handover_kemensos", False, (Category.FAMILY,), ("sentra-b",)),
    )
    assert record.organizations() == {"lapas-a"}
