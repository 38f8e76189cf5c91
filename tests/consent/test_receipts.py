"""``vault.consent.receipts``: the signed receipt states what was agreed, in Kantara's terms."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vault.consent.forms import load_forms
from vault.consent.receipts import (
    KANTARA_VERSION,
    RECEIPT_SCHEMA,
    ReceiptFacts,
    build_receipt,
)
from vault.consent.views import PurposeDecision
from vault.vocabulary import Category

FORMS = Path(__file__).resolve().parents[2] / "policies" / "consent-forms"
SIGNED = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
EXPIRES = datetime(2027, 3, 1, 9, 30, tzinfo=UTC)


GUARDIAN = uuid.UUID(int=7)
CHECKED_BY = uuid.UUID(int=8)


def _receipt(*purposes: PurposeDecision, guardian: uuid.UUID | None = None) -> dict[str, Any]:
    form = load_forms(FORMS).latest("rehabilitation")
    facts = ReceiptFacts(
        receipt_id=uuid.UUID(int=1),
        consent_id=uuid.UUID(int=2),
        subject_id=uuid.UUID(int=3),
        controller="Lapas A",
        form=form,
        language="en",
        text_sha256="ab" * 32,
        purposes=purposes,
        holding_org="lapas-a",
        signed_at=SIGNED,
        expires_at=EXPIRES,
        witness_id=uuid.UUID(int=4),
        witness_org="lapas-a",
        method="PIN",
        signed_by="guardian" if guardian else "subject",
        guardian_id=guardian,
        guardian_checked_by=CHECKED_BY if guardian else None,
        assent=True if guardian else None,
    )
    return build_receipt(facts)


COUNSELING = PurposeDecision(
    "counseling", True, (Category.PSYCHOLOGICAL, Category.PROGRAM), ("lapas-a",)
)
HEALTH_REFUSED = PurposeDecision("health_treatment", False, (Category.HEALTH_SENSITIVE,), ())


def test_receipt_names_its_schema_consent_and_times_in_utc() -> None:
    """The header fields identify the receipt, the consent and when, with a Z suffix."""
    receipt = _receipt(COUNSELING)
    assert receipt["schema_version"] == RECEIPT_SCHEMA
    assert receipt["kantara_version"] == KANTARA_VERSION
    assert receipt["consent_id"] == str(uuid.UUID(int=2))
    assert receipt["pii_principal_id"] == str(uuid.UUID(int=3))
    assert receipt["consent_timestamp"] == "2026-03-01T09:30:00Z"
    assert receipt["expires_at"] == "2027-03-01T09:30:00Z"
    assert receipt["collection_method"] == "PIN at kiosk, witnessed by staff"


def test_each_purpose_is_stated_granted_or_refused() -> None:
    """A refused purpose is on the receipt too, marked not granted."""
    purposes = {p["purpose"]: p for p in _receipt(COUNSELING, HEALTH_REFUSED)["purposes"]}
    assert purposes["counseling"]["granted"] is True
    assert purposes["counseling"]["pii_categories"] == ["psychological", "program"]
    assert purposes["counseling"]["purpose_title"]
    assert purposes["health_treatment"]["granted"] is False


def test_sensitive_data_is_flagged_only_when_granted() -> None:
    """Special categories count as sensitive only for a granted purpose."""
    receipt = _receipt(COUNSELING, HEALTH_REFUSED)
    assert receipt["sensitive"] is True
    assert receipt["spi_categories"] == ["psychological"]
    refused_only = _receipt(HEALTH_REFUSED)
    assert refused_only["sensitive"] is False
    assert refused_only["spi_categories"] == []


def test_disclosure_to_another_organisation_is_a_third_party() -> None:
    """A recipient other than the holding organisation is named as a third party."""
    handover = PurposeDecision(
        "handover_kemensos", True, (Category.FAMILY,), ("lapas-a", "sentra-b")
    )
    [purpose] = _receipt(handover)["purposes"]
    assert purpose["third_party_disclosure"] is True
    assert purpose["third_party_names"] == ["sentra-b"]
    [own] = _receipt(COUNSELING)["purposes"]
    assert own["third_party_disclosure"] is False


def test_guardian_appears_only_when_one_signed() -> None:
    """A minor's receipt names the guardian's enrolment and its checker; an adult's none."""
    assert _receipt(COUNSELING)["guardian"] is None
    minor = _receipt(COUNSELING, guardian=GUARDIAN)
    assert minor["guardian"]["enrolment_id"] == str(GUARDIAN)
    assert minor["guardian"]["identity_checked_by"] == str(CHECKED_BY)
    assert minor["guardian"]["credential"] == "guardian_pin"
    assert minor["assent"] is True
    assert minor["signed_by"] == "guardian"
