"""Tampering with the stored bytes behind the vault's back, seen through the HTTP API.

The attacker is an administrator with write access to the database (SQLite file or
PostgreSQL) but not to the key provider. Every change to a field ciphertext, a
wrapped data key, an audit row or a consent receipt must be detected: the vault
answers with an opaque problem or a failed verification, never with plaintext that
differs from what was written, and never with the plaintext of another field.
(The unit-level vectors are in tests/crypto, tests/keys and tests/audit.)
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import text

from tests.support import choose_pin
from tests.world import ORG, SUBJECT_PIN, World
from vault.crypto.signing import verify_jws
from vault.errors import SignatureInvalid

ASSESSMENT = {
    "instrument": "SRQ-20",
    "summary": "CANARY-TAMPER-a1: hears voices at night",
    "risk_level": "high",
    "recommendations": "CANARY-TAMPER-a2: daily check-in",
}


def db_id(world: World, value: str | uuid.UUID) -> Any:
    """A UUID as the backend stores it (hex text on SQLite, native on PostgreSQL)."""
    as_uuid = uuid.UUID(str(value))
    return as_uuid.hex if world.sqlite_path else as_uuid


def execute(world: World, sql: str, **params: Any) -> Any:
    with world.services.db.engine.begin() as conn:
        return conn.execute(text(sql), params)


def scalar(world: World, sql: str, **params: Any) -> Any:
    with world.services.db.engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def flip(blob: bytes, index: int) -> bytes:
    data = bytearray(blob)
    data[index % len(data)] ^= 0x01
    return bytes(data)


def assert_refused_opaquely(response: Any) -> None:
    """Not a 2xx; a problem+json that names no plaintext and no detail of the failure."""
    assert response.status_code >= 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "CANARY" not in response.text
    assert "Traceback" not in response.text


@pytest.fixture
def world(backend_world: World) -> World:
    """The module's world on this backend (tests restore what they break, or use own rows)."""
    return backend_world


@pytest.fixture
def record(world: World) -> str:
    rid = world.create_record("counselor", "psychological_assessment", ASSESSMENT)
    assert world.read("counselor", rid, "counseling").json()["fields"] == ASSESSMENT
    return rid


def field_ciphertext(world: World, rid: str, name: str) -> bytes:
    return bytes(
        scalar(
            world,
            "SELECT ciphertext FROM record_fields WHERE record_id = :r AND name = :n",
            r=db_id(world, rid),
            n=name,
        )
    )


def set_field_ciphertext(world: World, rid: str, name: str, blob: bytes) -> None:
    execute(
        world,
        "UPDATE record_fields SET ciphertext = :c WHERE record_id = :r AND name = :n",
        c=blob,
        r=db_id(world, rid),
        n=name,
    )


@pytest.mark.parametrize("where", [0, 1, 20, 40, -17, -1])
def test_a_flipped_ciphertext_byte_is_refused_over_http(
    world: World, record: str, where: int
) -> None:
    """A bit flipped anywhere in a stored field (header, nonce, body, tag) fails the read."""
    original = field_ciphertext(world, record, "summary")
    set_field_ciphertext(world, record, "summary", flip(original, where))
    assert_refused_opaquely(world.read("counselor", record, "counseling"))
    set_field_ciphertext(world, record, "summary", original)
    assert world.read("counselor", record, "counseling").json()["fields"] == ASSESSMENT


def test_swapped_fields_of_one_record_are_refused(world: World, record: str) -> None:
    """Swapping two fields' ciphertexts in the database cannot make one read as the other."""
    summary = field_ciphertext(world, record, "summary")
    advice = field_ciphertext(world, record, "recommendations")
    set_field_ciphertext(world, record, "summary", advice)
    set_field_ciphertext(world, record, "recommendations", summary)
    assert_refused_opaquely(world.read("counselor", record, "counseling"))


def test_a_ciphertext_moved_from_another_record_is_refused(world: World, record: str) -> None:
    """A field copied from another record of the same subject and type does not decrypt."""
    other = world.create_record(
        "counselor", "psychological_assessment", {**ASSESSMENT, "summary": "CANARY-OTHER"}
    )
    set_field_ciphertext(world, record, "summary", field_ciphertext(world, other, "summary"))
    response = world.read("counselor", record, "counseling")
    assert_refused_opaquely(response)
    assert "CANARY-OTHER" not in response.text


def test_a_deleted_field_row_is_noticed(world: World, record: str) -> None:
    """Deleting one field's row changes the record's manifest: the other fields fail too."""
    execute(
        world,
        "DELETE FROM record_fields WHERE record_id = :r AND name = 'risk_level'",
        r=db_id(world, record),
    )
    assert_refused_opaquely(world.read("counselor", record, "counseling"))


def test_a_record_moved_to_another_subject_is_refused(world: World, record: str) -> None:
    """Re-parenting a record row to another subject does not make it readable there."""
    other = new_subject(world)
    assignment = {"user_id": world.user_ids["counselor"], "subject_id": other}
    world.post("admin", "/v1/assignments", assignment)
    world.sign_consent(["counseling"], subject_id=other)
    execute(
        world,
        "UPDATE records SET subject_id = :s WHERE id = :r",
        s=db_id(world, other),
        r=db_id(world, record),
    )
    response = world.client.get(
        f"/v1/subjects/{other}/records/{record}",
        params={"purpose": "counseling"},
        headers=world.auth("counselor"),
    )
    assert_refused_opaquely(response)


def test_relabelled_category_does_not_widen_access(world: World, record: str) -> None:
    """Relabelling a psychological field as program data does not show it to a social worker."""
    execute(
        world,
        "UPDATE record_fields SET category = 'program' WHERE record_id = :r AND name = 'summary'",
        r=db_id(world, record),
    )
    response = world.read("social_worker", record, "social_reintegration")
    assert "CANARY-TAMPER-a1" not in response.text
    if response.status_code == 200:
        assert "summary" in response.json()["withheld"]


def test_a_flipped_wrapped_key_byte_is_refused(world: World, record: str) -> None:
    """A changed wrapped data key unwraps to nothing: the read fails, despite the key cache."""
    sid = db_id(world, world.subject_id)
    wrapped = bytes(
        scalar(world, "SELECT wrapped_dek FROM subject_keys WHERE subject_id = :s", s=sid)
    )
    for where in (0, len(wrapped) // 2, -1):
        execute(
            world,
            "UPDATE subject_keys SET wrapped_dek = :w WHERE subject_id = :s",
            w=flip(wrapped, where),
            s=sid,
        )
        assert_refused_opaquely(world.read("counselor", record, "counseling"))
    execute(
        world, "UPDATE subject_keys SET wrapped_dek = :w WHERE subject_id = :s", w=wrapped, s=sid
    )
    assert world.read("counselor", record, "counseling").json()["fields"] == ASSESSMENT


def test_another_subjects_wrapped_key_is_refused(world: World, record: str) -> None:
    """Copying another subject's wrapped key over this one's does not decrypt this one's fields."""
    other = new_subject(world)
    mine = bytes(
        scalar(
            world,
            "SELECT wrapped_dek FROM subject_keys WHERE subject_id = :s",
            s=db_id(world, world.subject_id),
        )
    )
    theirs = bytes(
        scalar(
            world,
            "SELECT wrapped_dek FROM subject_keys WHERE subject_id = :s",
            s=db_id(world, other),
        )
    )
    execute(
        world,
        "UPDATE subject_keys SET wrapped_dek = :w WHERE subject_id = :s",
        w=theirs,
        s=db_id(world, world.subject_id),
    )
    assert_refused_opaquely(world.read("counselor", record, "counseling"))
    execute(
        world,
        "UPDATE subject_keys SET wrapped_dek = :w WHERE subject_id = :s",
        w=mine,
        s=db_id(world, world.subject_id),
    )
    assert world.read("counselor", record, "counseling").json()["fields"] == ASSESSMENT


def verify_over_http(world: World) -> dict[str, Any]:
    response = world.client.get("/v1/audit/verify", headers=world.auth("compliance"))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_flipped_audit_byte_is_found_over_http(world: World, record: str) -> None:
    """A bit flipped in a stored audit event is found by the compliance officer's verify."""
    assert verify_over_http(world)["ok"] is True
    seq = scalar(world, "SELECT MAX(seq) FROM audit_events") - 2
    canonical = bytes(scalar(world, "SELECT canonical FROM audit_events WHERE seq = :s", s=seq))
    update = "UPDATE audit_events SET canonical = :c WHERE seq = :s"
    execute(world, update, c=flip(canonical, len(canonical) // 2), s=seq)
    report = verify_over_http(world)
    assert report["ok"] is False
    assert report["first_bad_seq"] == seq
    execute(world, update, c=canonical, s=seq)
    assert verify_over_http(world)["ok"] is True


def test_a_flipped_receipt_byte_fails_offline_verification(world: World) -> None:
    """A receipt changed in the database is refused or no longer verifies offline."""
    jwk = world.client.get("/v1/keys/signing").json()
    path = f"/v1/consents/{world.consent_id}/receipt"
    response = world.client.get(path, headers=world.auth("officer"))
    assert response.status_code == 200, response.text
    assert verify_jws(response.json()["receipt"], jwk)
    cid = db_id(world, world.consent_id)
    stored = scalar(world, "SELECT receipt_jws FROM consents WHERE id = :c", c=cid)
    update = "UPDATE consents SET receipt_jws = :j WHERE id = :c"
    # The column may hold the compact JWS or a sealed form of it: flip wherever it is.
    for where in (len(stored) // 3, len(stored) // 2, len(stored) - 3):
        forged = stored[:where] + ("A" if stored[where] != "A" else "B") + stored[where + 1 :]
        execute(world, update, j=forged, c=cid)
        served = world.client.get(path, headers=world.auth("officer"))
        if served.status_code == 200:
            with pytest.raises(SignatureInvalid):
                verify_jws(served.json()["receipt"], jwk)
        else:
            assert_refused_opaquely(served)
    execute(world, update, j=stored, c=cid)


def new_subject(world: World) -> str:
    """Another subject of the same organisation, with fresh identifiers."""
    digits = str(uuid.uuid4().int)[:16]
    body = {
        "full_name": "Siti Aminah",
        "nik": digits,
        "register_number": f"AI {digits[:4]}/2025",
        "date_of_birth": "1988-09-02",
        "organization": ORG,
    }
    subject_id = str(world.post("officer", "/v1/subjects", body)["id"])
    choose_pin(world.services, subject_id, SUBJECT_PIN)
    return subject_id


def test_a_read_hidden_from_the_disclosures_is_found(world: World, record: str) -> None:
    """Re-pointing a read's subject column (the hashed bytes untouched) hides it from the
    subject's disclosures, and verification names that event."""
    assert world.read("counselor", record, purpose="counseling").status_code == 200
    path = f"/v1/subjects/{world.subject_id}/disclosures"
    shown = world.client.get(path, headers=world.auth("compliance")).json()["disclosures"]
    seq = max(d["seq"] for d in shown)
    execute(
        world,
        "UPDATE audit_events SET subject_id = :s WHERE seq = :q",
        s=db_id(world, uuid.uuid4()),
        q=seq,
    )
    hidden = world.client.get(path, headers=world.auth("compliance")).json()["disclosures"]
    assert seq not in {d["seq"] for d in hidden}
    report = verify_over_http(world)
    assert report["ok"] is False
    assert report["first_bad_seq"] == seq
