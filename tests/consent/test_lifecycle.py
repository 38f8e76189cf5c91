"""Withdrawal, expiry, receipts and the FHIR export of a signed consent."""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import date

import pytest
from fhir.resources.consent import Consent as FhirConsent

from tests.consent.conftest import Clock, FakeAudit, FakeFacts, add_subject
from tests.consent.signing_support import ORG, officer, request
from vault.consent.fhir import CONSENT_STATES, validated
from vault.consent.service import Actor, ConsentService
from vault.consent.views import ConsentStatus
from vault.crypto.signing import Signer, verify_jws
from vault.db import Database
from vault.errors import Conflict, Forbidden, NotFound, SignatureInvalid
from vault.vocabulary import Role


@pytest.fixture
def adult(db: Database, facts: FakeFacts) -> uuid.UUID:
    subject = add_subject(db)
    facts.births[subject] = date(1985, 2, 3)
    return subject


def test_withdrawal_counts_on_the_next_read(
    consents: ConsentService, adult: uuid.UUID, audit: FakeAudit
) -> None:
    """After the subject withdraws at the kiosk, the very next query finds no grant."""
    signed = consents.sign(officer(), adult, request())
    assert consents.active_consents(adult, consents.clock())
    consents.withdraw(Actor.subject(adult), signed.id, reason="changed my mind, HIV")
    assert consents.active_consents(adult, consents.clock()) == []
    [record] = consents.list_for_subject(Actor.subject(adult), adult)
    assert record.status(consents.clock()) is ConsentStatus.WITHDRAWN
    assert record.ending is not None
    assert record.ending.reason == "other"  # free text is never stored
    event = next(e for e in audit.events if e.action == "consent.withdraw")
    assert "HIV" not in repr(event)
    with pytest.raises(Conflict):
        consents.withdraw(Actor.subject(adult), signed.id)


def test_who_may_withdraw(consents: ConsentService, adult: uuid.UUID, db: Database) -> None:
    """Another subject, another organisation's staff and non-witness roles cannot withdraw."""
    signed = consents.sign(officer(), adult, request())
    stranger = add_subject(db)
    with pytest.raises(NotFound):
        consents.withdraw(Actor.subject(stranger), signed.id)
    with pytest.raises(NotFound):
        consents.withdraw(Actor.staff(officer(org="lapas-cipinang")), signed.id)
    with pytest.raises(Forbidden):
        consents.withdraw(Actor.staff(officer(role=Role.HEALTH_OFFICER)), signed.id)
    consents.withdraw(Actor.staff(officer(role=Role.COUNSELOR)), signed.id, "subject_request")
    assert consents.active_consents(adult, consents.clock()) == []


def test_expiry_is_enforced_without_a_job_and_then_recorded(
    consents: ConsentService, adult: uuid.UUID, clock: Clock, audit: FakeAudit
) -> None:
    """Past its duration a consent grants nothing; listing then records the expiry once."""
    signed = consents.sign(officer(), adult, request())
    clock.advance(days=365)
    assert consents.active_consents(adult, clock.now) == []
    [record] = consents.list_for_subject(Actor.staff(officer()), adult)
    assert record.status(clock.now) is ConsentStatus.EXPIRED
    consents.list_for_subject(Actor.staff(officer()), adult)
    assert audit.actions().count("consent.expire") == 1
    with pytest.raises(Conflict):
        consents.withdraw(Actor.subject(adult), signed.id)


def test_receipt_verifies_and_says_what_was_agreed(
    consents: ConsentService, adult: uuid.UUID, signer: Signer, audit: FakeAudit
) -> None:
    """The receipt is a JWS over the Kantara / TS 27560 fields, verifiable with the public key."""
    signed = consents.sign(
        officer(),
        adult,
        request(
            frozenset({"counseling", "handover_kemensos"}),
            recipients={"handover_kemensos": ["sentra-handayani"]},
        ),
    )
    token = consents.receipt(Actor.subject(adult), signed.id)
    payload = verify_jws(token, signer.public_jwk())
    assert payload["pii_principal_id"] == str(adult)
    assert payload["consent_id"] == str(signed.id)
    assert payload["notice"]["text_sha256"] == consents.form("rehabilitation").text_sha256(
        "id", consents.settings.controller_name
    )
    by_code = {p["purpose"]: p for p in payload["purposes"]}
    assert by_code["handover_kemensos"]["granted"] is True
    assert by_code["handover_kemensos"]["third_party_names"] == ["sentra-handayani"]
    assert by_code["health_treatment"]["granted"] is False
    assert payload["pii_controllers"] == [{"pii_controller": consents.settings.controller_name}]
    assert "consent.receipt" in audit.actions()


def test_a_changed_receipt_byte_fails(
    consents: ConsentService, adult: uuid.UUID, signer: Signer
) -> None:
    """Changing one byte of the payload or of the signature breaks verification."""
    token = consents.sign(officer(), adult, request()).receipt
    header, body, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    raw[raw.index(b"counseling")] ^= 0x01
    forged_body = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    sig = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    sig[10] ^= 0x80
    forged_sig = base64.urlsafe_b64encode(bytes(sig)).rstrip(b"=").decode()
    for forged in (f"{header}.{forged_body}.{signature}", f"{header}.{body}.{forged_sig}"):
        with pytest.raises(SignatureInvalid):
            verify_jws(forged, signer.public_jwk())


def test_fhir_export_is_valid_r5(consents: ConsentService, adult: uuid.UUID) -> None:
    """The export validates as an R5 Consent, with a permit provision per granted purpose."""
    signed = consents.sign(officer(), adult, request(frozenset({"counseling", "health_treatment"})))
    resource = consents.fhir(Actor.staff(officer()), signed.id)
    FhirConsent.model_validate(resource)
    assert resource["status"] == "active"
    assert resource["decision"] == "deny"
    purposes = {p["purpose"][0]["code"] for p in resource["provision"]}
    assert purposes == {"counseling", "health_treatment"}
    refused = {e["valueCoding"]["code"] for e in resource["extension"]}
    assert refused == {"social_reintegration", "handover_kemensos", "statistics"}
    text = consents.form("rehabilitation").render("id", consents.settings.controller_name)
    digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    assert resource["sourceAttachment"][0]["hash"] == digest
    assert resource["subject"]["reference"] == f"Patient/{adult}"
    consents.withdraw(Actor.staff(officer()), signed.id)
    after = consents.fhir(Actor.staff(officer()), signed.id)
    assert after["status"] == "inactive"
    assert after["status"] in CONSENT_STATES
    with pytest.raises(Forbidden):
        consents.fhir(Actor.subject(adult), signed.id)


def test_bad_fhir_codes_are_caught_by_our_check() -> None:
    """fhir.resources accepts any status string; our own check refuses it."""
    resource = {"resourceType": "Consent", "status": "bogus", "decision": "permit"}
    FhirConsent.model_validate(resource)  # the library lets it through
    with pytest.raises(ValueError, match="status"):
        validated(resource)
    with pytest.raises(ValueError, match="decision"):
        validated({"resourceType": "Consent", "status": "active", "decision": "maybe"})


def test_recipient_organisation_sees_only_through_the_grant(
    consents: ConsentService, adult: uuid.UUID
) -> None:
    """A sentra's staff see only the purposes naming them, only while active, never the receipt."""
    sentra_staff = Actor.staff(officer(org="sentra-handayani", role=Role.COUNSELOR))
    other_sentra = Actor.staff(officer(org="sentra-ciungwanara", role=Role.COUNSELOR))
    signed = consents.sign(
        officer(),
        adult,
        request(
            frozenset({"handover_kemensos", "counseling"}),
            recipients={"handover_kemensos": ["sentra-handayani"]},
        ),
    )
    [seen] = consents.list_for_subject(sentra_staff, adult)
    assert seen.id == signed.id
    assert [p.code for p in seen.purposes] == ["handover_kemensos"]
    with pytest.raises(NotFound):
        consents.get(sentra_staff, signed.id)  # the receipt states every purpose
    with pytest.raises(NotFound):
        consents.list_for_subject(other_sentra, adult)
    consents.withdraw(Actor.subject(adult), signed.id)
    with pytest.raises(NotFound):
        consents.list_for_subject(sentra_staff, adult)
    assert ORG != "sentra-handayani"


def test_kiosk_view_lists_active_consents_in_a_language(
    consents: ConsentService, adult: uuid.UUID
) -> None:
    """The kiosk lists the subject's active consents with purpose titles in the chosen language."""
    consents.sign(officer(), adult, request(frozenset({"counseling"})))
    [shown] = consents.active_for_display(adult, "en")
    titles = {p["code"]: (p["title"], p["granted"]) for p in shown["purposes"]}
    assert titles["counseling"] == ("Counseling", True)
    assert titles["statistics"][1] is False
