"""System-held secrets beside the records are sealed too: a database dump alone does not
reveal TOTP seeds, break-glass justifications, guardians' identities or consent receipts."""

from __future__ import annotations

import base64

from sqlalchemy import text

from tests.support import choose_pin
from tests.world import SUBJECT_PIN, World
from vault.consent.service import Guardian, GuardianIdentity, SignRequest
from vault.subjects.registration import NewSubject
from vault.vocabulary import Principal, Role

CANARY = "CANARY-7c1e: subject collapsed after methadone dose, needs history now"


def raw_values(world: World, sql: str) -> list[str]:
    with world.services.db.read_session() as session:
        return [str(value) for value in session.execute(text(sql)).scalars()]


def test_break_glass_justification_is_sealed_but_shown_to_the_reviewer(world: World) -> None:
    """The stored justification is ciphertext; the compliance queue shows the sentence."""
    response = world.client.post(
        f"/v1/subjects/{world.subject_id}/break-glass",
        json={"justification": CANARY},
        headers=world.auth("counselor"),
    )
    assert response.status_code == 201, response.text
    stored = raw_values(world, "SELECT justification FROM break_glass_grants")
    assert stored
    assert all("CANARY" not in value for value in stored)
    queue = world.client.get(
        "/v1/break-glass", params={"pending": "true"}, headers=world.auth("compliance")
    )
    assert CANARY in queue.text


def test_totp_seed_is_sealed(world: World) -> None:
    """Enrolling a second factor stores no seed the database alone could use."""
    response = world.client.post("/v1/me/totp", headers=world.auth("counselor"))
    assert response.status_code in (200, 201), response.text
    seed = response.json()["secret"]
    stored = raw_values(world, "SELECT totp_secret FROM users WHERE totp_secret IS NOT NULL")
    assert len(stored) == 1
    assert seed not in stored[0]


def test_guardian_identity_and_receipt_are_sealed(world: World) -> None:
    """A guardian's identity is ciphertext under the child's key and appears in no API
    answer, receipt or FHIR export; the signed receipt is ciphertext at rest too."""
    officer = world.services.identity.user_by_name("officer")
    principal = Principal(officer.id, Role.OFFICER, officer.organization)
    child = world.services.subjects.register(
        principal,
        NewSubject(
            full_name="Andi (test)",
            nik="3171010303150003",
            register_number="AN 9/2026",
            date_of_birth=world.services.clock().date().replace(year=2015),
            organization=officer.organization,
        ),
    )
    choose_pin(world.services, child, SUBJECT_PIN)
    counselor = world.services.identity.user_by_name("counselor")
    world.services.consents.enrol_guardian(
        Principal(counselor.id, Role.COUNSELOR, counselor.organization),
        child,
        GuardianIdentity("Ibu Kartini Canary", "mother", "ktp", "3171015508809911"),
        checked_by=principal,
        pin="860431",
        again="860431",
        kiosk_session=None,
    )
    signed = world.services.consents.sign(
        principal,
        child,
        SignRequest(
            form_id="rehabilitation",
            form_version=1,
            language="id",
            granted_purposes=frozenset({"counseling"}),
            pin=SUBJECT_PIN,
            guardian=Guardian("860431"),
        ),
    )
    with world.services.db.read_session() as session:
        stored = [
            bytes(v)
            for v in session.execute(
                text("SELECT sealed_identity FROM consent_guardians")
            ).scalars()
        ]
    assert stored
    assert all(b"Kartini" not in value and b"3171015508809911" not in value for value in stored)
    receipts = raw_values(world, "SELECT receipt_jws FROM consents")
    assert signed.receipt not in receipts
    fhir = world.client.get(f"/v1/consents/{signed.id}/fhir", headers=world.auth("officer"))
    assert fhir.status_code == 200, fhir.text
    assert "Kartini" not in fhir.text
    assert "RelatedPerson" in fhir.text
    receipt = world.client.get(f"/v1/consents/{signed.id}/receipt", headers=world.auth("officer"))
    assert receipt.json()["receipt"] == signed.receipt
    payload = signed.receipt.split(".")[1]
    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    assert b"Kartini" not in decoded
    assert b"identity_checked_by" in decoded
