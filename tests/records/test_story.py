"""The full story through the HTTP API: consent-bound decryption, minimum necessary,
withdrawal, assignment, break-glass with review, rectification and erasure."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.records.story import ASSESSMENT, FAMILY, audit_events
from tests.world import World


def wal_bytes(db_path: Path) -> bytes:
    wal = db_path.with_name(db_path.name + "-wal")
    return wal.read_bytes() if wal.exists() else b""


def stored_wrapped_key(world: World) -> bytes | None:
    """The subject's wrapped data key as stored, read behind the vault's back."""
    with world.services.db.read_session() as session:
        row = session.execute(
            text("SELECT wrapped_dek FROM subject_keys WHERE subject_id = :sid"),
            {"sid": uuid.UUID(world.subject_id).hex if world.sqlite_path else world.subject_id},
        ).first()
    return bytes(row[0]) if row else None


def test_counselor_reads_assessment_under_consent(world: World) -> None:
    """An assigned counselor with a counseling consent gets the assessment decrypted."""
    rid = world.create_record("counselor", "psychological_assessment", ASSESSMENT)
    response = world.read("counselor", rid, purpose="counseling")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["fields"] == ASSESSMENT
    assert body["withheld"] == {}
    assert body["consent_id"] == world.consent_id
    reads = audit_events(world, subject_id=world.subject_id, action="record.read")
    assert reads[-1]["outcome"] == "allow"
    assert reads[-1]["consent_id"] == world.consent_id
    assert "CANARY" not in str(reads)


def test_listing_is_metadata_only(world: World) -> None:
    """Listing a subject's records returns ids and types, never field values."""
    world.create_record("counselor", "psychological_assessment", ASSESSMENT)
    response = world.client.get(
        f"/v1/subjects/{world.subject_id}/records",
        params={"purpose": "counseling"},
        headers=world.auth("counselor"),
    )
    assert response.status_code == 200
    assert "CANARY" not in response.text
    assert {"psychological_assessment", "identity"} <= {r["type"] for r in response.json()}


def test_social_worker_sees_family_but_not_psychology(world: World) -> None:
    """Minimum necessary: a social worker is shown family data and refused the assessment."""
    assessment = world.create_record("counselor", "psychological_assessment", ASSESSMENT)
    family = world.create_record("social_worker", "family_data", FAMILY)
    response = world.read("social_worker", family, purpose="social_reintegration")
    assert response.status_code == 200, response.text
    assert response.json()["fields"] == FAMILY
    response = world.read("social_worker", assessment, purpose="social_reintegration")
    assert response.status_code == 200
    body = response.json()
    # The program recommendations are shared with the social worker; the psychology is not.
    assert body["fields"] == {"recommendations": ASSESSMENT["recommendations"]}
    assert set(body["withheld"]) == {"instrument", "summary", "risk_level"}
    assert "CANARY" not in response.text


def test_read_after_withdrawal_is_refused(world: World) -> None:
    """Withdrawal stops decryption on the very next request, and the refusal is audited."""
    rid = world.create_record("counselor", "psychological_assessment", ASSESSMENT)
    assert world.read("counselor", rid, purpose="counseling").json()["fields"] == ASSESSMENT
    response = world.client.post(
        f"/v1/consents/{world.consent_id}/withdraw",
        json={"reason": "changed my mind"},
        headers=world.auth("officer"),
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "withdrawn"
    body = world.read("counselor", rid, purpose="counseling").json()
    assert body["fields"] == {}
    assert set(body["withheld"]) == set(ASSESSMENT)
    last = audit_events(world, subject_id=world.subject_id, action="record.read")[-1]
    assert last["categories"] == []
    assert last["policy_ids"], "the refusal names its deciding policy"


def test_unassigned_counselor_cannot_tell_the_subject_exists(world: World) -> None:
    """An unassigned counselor gets 404, the same answer as for a subject that does not exist."""
    rid = world.create_record("counselor", "psychological_assessment", ASSESSMENT)
    unassigned = world.read("counselor2", rid, purpose="counseling")
    missing = world.client.get(
        f"/v1/subjects/{world.missing_id}/records/{rid}",
        params={"purpose": "counseling"},
        headers=world.auth("counselor2"),
    )
    assert unassigned.status_code == missing.status_code == 404
    assert unassigned.json()["title"] == missing.json()["title"]
    assert "CANARY" not in unassigned.text
    denied = audit_events(world, subject_id=world.subject_id, outcome="deny")
    assert any(e["actor_id"] == world.user_ids["counselor2"] for e in denied)


def test_ending_an_assignment_takes_effect_at_once(world: World) -> None:
    """After the assignment ends, the counselor's next read is refused."""
    rid = world.create_record("counselor", "psychological_assessment", ASSESSMENT)
    response = world.client.delete(
        f"/v1/assignments/{world.assignment_ids['counselor']}", headers=world.auth("admin")
    )
    assert response.status_code == 204
    assert world.read("counselor", rid, purpose="counseling").status_code == 404


def test_admin_and_compliance_never_get_plaintext(world: World) -> None:
    """Separation of duties: administrators and compliance officers get no record content."""
    rid = world.create_record("counselor", "psychological_assessment", ASSESSMENT)
    for role in ("admin", "compliance"):
        response = world.read(role, rid, purpose="counseling")
        assert response.status_code in (403, 404)
        assert "CANARY" not in response.text


def test_break_glass_reads_and_waits_for_review(world: World) -> None:
    """Without consent, an emergency grant allows a flagged read that waits for review."""
    rid = world.create_record("counselor", "psychological_assessment", ASSESSMENT)
    world.client.post(
        f"/v1/consents/{world.consent_id}/withdraw", json={}, headers=world.auth("officer")
    )
    assert world.read("counselor", rid, purpose="counseling").json()["fields"] == {}
    response = world.client.post(
        f"/v1/subjects/{world.subject_id}/break-glass",
        json={"justification": "Subject expressed suicidal intent in the cell block tonight."},
        headers=world.auth("counselor"),
    )
    assert response.status_code == 201, response.text
    grant_id = response.json()["id"]
    body = world.read("counselor", rid, purpose="emergency").json()
    assert body["fields"] == ASSESSMENT
    assert body["break_glass_id"] == grant_id
    pending = {"pending": "true"}
    queue = world.client.get("/v1/break-glass", params=pending, headers=world.auth("compliance"))
    assert queue.status_code == 200
    assert grant_id in queue.text
    review = world.client.post(
        f"/v1/break-glass/{grant_id}/review",
        json={"outcome": "justified"},
        headers=world.auth("compliance"),
    )
    assert review.status_code == 200, review.text
    queue = world.client.get("/v1/break-glass", params=pending, headers=world.auth("compliance"))
    assert grant_id not in queue.text
    flagged = audit_events(world, subject_id=world.subject_id, action="record.read")[-1]
    assert flagged["break_glass_id"] == grant_id


def test_break_glass_is_not_for_social_workers(world: World) -> None:
    """Only counselors and health officers may break the glass."""
    response = world.client.post(
        f"/v1/subjects/{world.subject_id}/break-glass",
        json={"justification": "I would like to see everything about this person please."},
        headers=world.auth("social_worker"),
    )
    assert response.status_code == 403


def test_correction_keeps_the_previous_version(world: World) -> None:
    """A rectification is a new version; the old one stays readable and both are audited."""
    rid = world.create_record("counselor", "psychological_assessment", ASSESSMENT)
    corrected = {**ASSESSMENT, "risk_level": "low"}
    response = world.client.post(
        f"/v1/subjects/{world.subject_id}/records/{rid}/corrections",
        json={"fields": corrected},
        headers=world.auth("counselor"),
    )
    assert response.status_code == 201, response.text
    new_id = response.json()["id"]
    assert response.json()["supersedes_id"] == rid
    assert world.read("counselor", new_id, purpose="counseling").json()["fields"] == corrected
    old = world.read("counselor", rid, purpose="counseling").json()
    assert old["fields"] == ASSESSMENT
    assert old["current"] is False
    actions = [e["action"] for e in audit_events(world, subject_id=world.subject_id)]
    assert "record.create" in actions
    assert "record.correct" in actions


def test_unknown_type_or_field_is_named(world: World) -> None:
    """The catalog rejects unknown record types and fields with a 422 that names them."""
    response = world.client.post(
        f"/v1/subjects/{world.subject_id}/records",
        json={"type": "horoscope", "fields": {"sign": "leo"}},
        headers=world.auth("counselor"),
    )
    assert response.status_code == 422
    assert "horoscope" in response.text
    response = world.client.post(
        f"/v1/subjects/{world.subject_id}/records",
        json={"type": "psychological_assessment", "fields": {**ASSESSMENT, "shoe_size": "42"}},
        headers=world.auth("counselor"),
    )
    assert response.status_code == 422
    assert "shoe_size" in response.text


def test_search_by_nik_uses_the_blind_index(world: World) -> None:
    """Staff find a subject by NIK, in any spelling of separators, and the NIK is not stored."""
    response = world.client.get(
        "/v1/subjects", params={"nik": " 3171-0123-4567-8901 "}, headers=world.auth("officer")
    )
    assert response.status_code == 200
    assert response.json() == [{"id": world.subject_id}]
    if world.sqlite_path:
        raw = world.sqlite_path.read_bytes()
        assert b"3171012345678901" not in raw
        assert b"Budi Santoso" not in raw


def test_erasure_needs_two_people_and_shreds(world: World) -> None:
    """Erasure needs a compliance approval; afterwards every read fails, the trail stays."""
    rid = world.create_record("counselor", "psychological_assessment", ASSESSMENT)
    path = f"/v1/subjects/{world.subject_id}"
    admin, compliance = world.auth("admin"), world.auth("compliance")

    def erase(approval_id: str) -> int:
        response = world.client.delete(path, params={"approval": approval_id}, headers=admin)
        return int(response.status_code)

    wrapped_before = stored_wrapped_key(world)
    assert erase("00000000-0000-4000-8000-000000000000") == 403
    approval = world.client.post(f"{path}/erasure-approvals", headers=compliance)
    assert approval.status_code == 201, approval.text
    approval_id = approval.json()["id"]
    hold = world.client.put(f"{path}/legal-hold", json={"hold": True}, headers=compliance)
    assert hold.status_code == 200
    assert erase(approval_id) == 409
    world.client.put(f"{path}/legal-hold", json={"hold": False}, headers=compliance)
    assert erase(approval_id) == 204
    assert world.read("counselor", rid, purpose="counseling").status_code == 404
    events = audit_events(world, subject_id=world.subject_id)
    assert any(e["action"] == "subject.erase" for e in events)
    assert any(e["action"] == "record.create" for e in events), "the trail outlives the records"
    if world.sqlite_path:
        # The erasure itself checkpoints the WAL: no ciphertext or wrapped key lingers in it.
        raw = world.sqlite_path.read_bytes() + wal_bytes(world.sqlite_path)
        assert wrapped_before is not None
        assert wrapped_before not in raw
    assert stored_wrapped_key(world) is None


@pytest.mark.parametrize("purpose", ["", "DROP TABLE", "../../etc"])
def test_bad_purpose_is_a_clear_problem(world: World, purpose: str) -> None:
    """A missing or malformed purpose is a 400/422 problem, not a read."""
    rid = world.create_record("counselor", "psychological_assessment", ASSESSMENT)
    response = world.read("counselor", rid, purpose=purpose)
    assert response.status_code in (400, 422)
    assert response.headers["content-type"].startswith("application/problem+json")


def test_rotating_a_subjects_key_reencrypts_every_field(world: World) -> None:
    """After a subject's DEK rotation every field reads the same, under a new wrapped key."""
    rid = world.create_record("counselor", "psychological_assessment", ASSESSMENT)
    wrapped_before = stored_wrapped_key(world)
    with world.services.db.read_session() as session:
        before = {
            row[0]: bytes(row[1])
            for row in session.execute(text("SELECT name, ciphertext FROM record_fields")).all()
        }
    rewritten = world.services.records.rotate_subject_key(uuid.UUID(world.subject_id))
    assert rewritten == len(ASSESSMENT) + 4  # the assessment and the identity record
    assert stored_wrapped_key(world) != wrapped_before
    with world.services.db.read_session() as session:
        after = dict(session.execute(text("SELECT name, ciphertext FROM record_fields")).all())
    assert all(bytes(after[name]) != ciphertext for name, ciphertext in before.items())
    assert world.read("counselor", rid, purpose="counseling").json()["fields"] == ASSESSMENT
