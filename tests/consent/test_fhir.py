"""``vault.consent.fhir``: a consent as a valid FHIR R5 resource stating every choice made."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from vault.consent.fhir import consent_resource, validated
from vault.consent.forms import load_forms
from vault.consent.tables import Consent, ConsentEnding, EndingKind
from vault.consent.views import ConsentRecord, PurposeDecision
from vault.vocabulary import Category

FORM = load_forms(Path(__file__).resolve().parents[2] / "policies" / "consent-forms").latest(
    "rehabilitation"
)
SIGNED = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
SHA = "ab" * 32
COUNSELING = PurposeDecision(
    "counseling", True, (Category.PSYCHOLOGICAL, Category.PROGRAM), ("lapas-a",)
)
HEALTH_REFUSED = PurposeDecision("health_treatment", False, (Category.HEALTH_SENSITIVE,), ())


GUARDIAN = uuid.UUID(int=7)


def _record(
    *purposes: PurposeDecision,
    ending: ConsentEnding | None = None,
    guardian: uuid.UUID | None = None,
) -> ConsentRecord:
    row = Consent(
        subject_id=uuid.UUID(int=1),
        form_id="rehabilitation",
        form_version=1,
        language="id",
        text_sha256=SHA,
        signed_at=SIGNED,
        expires_at=SIGNED + timedelta(days=365),
        witness_id=uuid.UUID(int=2),
        witness_org="lapas-a",
        method="pin",
        signed_by="guardian" if guardian else "subject",
        guardian_id=guardian,
        receipt_id=uuid.UUID(int=3),
        receipt_jws="x.y.z",
    )
    return ConsentRecord(row, purposes, ending)


def _resource(record: ConsentRecord, days: int = 1) -> dict[str, Any]:
    now = SIGNED + timedelta(days=days)
    return consent_resource(record, FORM, "Lapas A", now)


def test_granted_purposes_are_provisions_and_refused_ones_an_extension() -> None:
    """Every choice is in the resource: permits as provisions, refusals listed apart."""
    resource = _resource(_record(COUNSELING, HEALTH_REFUSED))
    assert resource["resourceType"] == "Consent"
    assert resource["decision"] == "deny"
    [provision] = resource["provision"]
    assert provision["purpose"][0]["code"] == "counseling"
    codes = [c["coding"][0]["code"] for c in provision["code"]]
    assert codes == ["psychological", "program"]
    assert provision["actor"][0]["reference"]["identifier"]["value"] == "lapas-a"
    [refusal] = resource["extension"]
    assert refusal["valueCoding"]["code"] == "health_treatment"


def test_active_then_inactive_once_withdrawn() -> None:
    """The status is active while the consent is, inactive after a withdrawal, with why."""
    assert _resource(_record(COUNSELING))["status"] == "active"
    ending = ConsentEnding(
        consent_id=uuid.uuid4(),
        kind=EndingKind.WITHDRAWN.value,
        at=SIGNED + timedelta(hours=1),
        actor_kind="subject",
    )
    withdrawn = _resource(_record(COUNSELING, ending=ending))
    assert withdrawn["status"] == "inactive"
    assert withdrawn["category"][1]["coding"][0]["code"] == "withdrawn"
    assert withdrawn["period"]["end"].startswith("2026-03-01T10:00:00")


def test_text_hash_is_the_sha256_of_what_was_shown() -> None:
    """The attachment's hash is the SHA-256 of the exact text, base64 as FHIR wants."""
    [attachment] = _resource(_record(COUNSELING))["sourceAttachment"]
    assert base64.b64decode(attachment["hash"]) == bytes.fromhex(SHA)
    assert attachment["language"] == "id"


def test_guardian_signs_for_a_minor() -> None:
    """A guardian's consent names them as grantor by their enrolment, never by name."""
    grantor = _resource(_record(COUNSELING, guardian=GUARDIAN))["grantor"]
    assert [g["type"] for g in grantor] == ["RelatedPerson"]
    assert grantor[0]["identifier"]["value"] == str(GUARDIAN)
    assert grantor[0]["display"] == "guardian"
    assert _resource(_record(COUNSELING))["grantor"] == [
        {"reference": "Patient/" + str(uuid.UUID(int=1))}
    ]


def test_nothing_granted_has_no_provision_and_no_grantee() -> None:
    """A consent refusing everything grants no organisation anything."""
    resource = _resource(_record(HEALTH_REFUSED))
    assert "provision" not in resource
    assert "grantee" not in resource


@pytest.mark.parametrize(("field", "value"), [("status", "rejected"), ("decision", "maybe")])
def test_codes_outside_the_r5_value_sets_are_refused(field: str, value: str) -> None:
    """A code FHIR's structure check would pass but R5 does not define is caught."""
    resource = _resource(_record(COUNSELING)) | {field: value}
    with pytest.raises(ValueError, match=f"Consent.{field} is not"):
        validated(resource)
