"""System-held secrets beside the records are sealed too: a database dump alone does not
reveal TOTP seeds, break-glass justifications, guardians' names or consent receipts."""

from __future__ import annotations

from sqlalchemy import text

from tests.support import choose_pin
from tests.world import SUBJECT_PIN, World
from vault.consent.service import Guardian, SignRequest
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


def test_guardian_name_and_receipt_are_sealed(world: World) -> None:
    """A guardian's name and the signed receipt are ciphertext at rest, readable via the API."""
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
    signed = world.services.consents.sign(
        principal,
        child,
        SignRequest(
            form_id="rehabilitation",
            form_version=1,
            language="id",
            granted_purposes=frozenset({"counseling"}),
            pin=SUBJECT_PIN,
            guardian=Guardian(name="Ibu Kartini Canary", relation="mother"),
        ),
    )
    stored = raw_values(
        world,
        "SELECT guardian_name FROM consents WHERE guardian_name IS NOT NULL",
    )
    assert stored
    assert all("Kartini" not in value for value in stored)
    receipts = raw_values(world, "SELECT receipt_jws FROM consents")
    assert signed.receipt not in receipts
    fhir = world.client.get(f"/v1/consents/{signed.id}/fhir", headers=world.auth("officer"))
    assert fhir.status_code == 200, fhir.text
    assert "Ibu Kartini Canary" in fhir.text
    receipt = world.client.get(f"/v1/consents/{signed.id}/receipt", headers=world.auth("officer"))
    assert receipt.json()["receipt"] == signed.receipt
