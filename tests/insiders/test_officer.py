"""The officer as insider (THREATS.md): probing other organisations through
registration, probing record ids through corrections, and dates that break signing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support import answer
from tests.world import NEW_SUBJECT, World, world

__all__ = ["world"]

OTHER = "lapas-cipinang"
ASSESSMENT = {
    "instrument": "SRQ-20",
    "summary": "Low mood since the transfer; sleeps poorly.",
    "risk_level": "moderate",
    "recommendations": "weekly counseling",
}


def events(world: World, who: str, **filters: Any) -> list[dict[str, Any]]:
    response = world.client.get(
        "/v1/audit/events", params={**filters, "limit": 500}, headers=world.auth(who)
    )
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["events"]
    return found


def test_registration_does_not_tell_that_another_organisation_holds_the_nik(world: World) -> None:
    """A NIK held by another organisation registers exactly like a fresh one, and both
    organisations' compliance officers can find the overlap in the audit log."""
    world.join("officer_b", "officer", OTHER)
    world.join("compliance_b", "compliance_officer", OTHER)
    held_elsewhere = {**NEW_SUBJECT, "organization": OTHER}
    fresh = {
        **NEW_SUBJECT,
        "nik": "3171019999999999",
        "register_number": "AI 999/2025",
        "organization": OTHER,
    }
    first = world.client.post("/v1/subjects", json=held_elsewhere, headers=world.auth("officer_b"))
    second = world.client.post("/v1/subjects", json=fresh, headers=world.auth("officer_b"))
    assert first.status_code == second.status_code == 201, first.text
    assert first.json().keys() == second.json().keys() == {"id"}
    new_id = first.json()["id"]
    assert new_id != world.subject_id
    # The registering organisation's officers see the overlap on their new subject...
    mine = events(world, "compliance_b", subject_id=new_id, action="subject.register")
    assert [e["details"]["nik_held_elsewhere"] for e in mine] == [True]
    plain = events(world, "compliance_b", subject_id=second.json()["id"], action="subject.register")
    assert [e["details"]["nik_held_elsewhere"] for e in plain] == [False]
    # ...and the holding organisation's find it filed under their own subject.
    theirs = events(world, "compliance", subject_id=world.subject_id, action="subject.register")
    assert any(
        e["actor_org"] == OTHER and e["details"].get("registered_elsewhere") for e in theirs
    ), theirs
    # Within one organisation a duplicate is still refused: that tells the officer nothing.
    again = world.client.post("/v1/subjects", json=held_elsewhere, headers=world.auth("officer_b"))
    assert again.status_code == 409


def test_corrections_do_not_tell_which_subject_or_record_exists(world: World) -> None:
    """A caller who may not correct a subject's records gets one answer whether the
    subject, the record, both or neither exist."""
    record_id = world.create_record("counselor", "psychological_assessment", ASSESSMENT)
    world.join("counselor_b", "counselor", OTHER)
    missing = str(uuid.uuid4())
    body = {"fields": {**ASSESSMENT, "risk_level": "low"}}

    def correct(who: str, subject_id: str, rid: str) -> tuple[int, Any]:
        path = f"/v1/subjects/{subject_id}/records/{rid}/corrections"
        return answer(world.client.post(path, json=body, headers=world.auth(who)))

    # Another organisation's counselor: the subject is not theirs to know.
    answers = [
        correct("counselor_b", world.subject_id, record_id),
        correct("counselor_b", missing, record_id),
        correct("counselor_b", world.subject_id, missing),
    ]
    assert answers[0] == answers[1] == answers[2], answers
    assert answers[0][0] == 404
    # The officer of the holding organisation may not correct records at all: an
    # existing record and a missing one get the same refusal.
    existing = correct("officer", world.subject_id, record_id)
    absent = correct("officer", world.subject_id, missing)
    assert existing == absent
    assert existing[0] in (403, 404)
    # The care team still corrects.
    assert correct("counselor", world.subject_id, record_id)[0] == 201


def test_impossible_dates_of_birth_are_refused_at_registration(world: World) -> None:
    """A date of birth in year 9982, in the future or before 1900 is a 422, and nothing
    is registered."""
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    for n, born in enumerate(("9982-01-01", tomorrow, "1899-12-31")):
        nik = f"31710100000000{n:02d}"
        subject = {**NEW_SUBJECT, "nik": nik, "register_number": f"X {n}", "date_of_birth": born}
        response = world.client.post("/v1/subjects", json=subject, headers=world.auth("officer"))
        assert response.status_code == 422, (born, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        found = world.client.get("/v1/subjects", params={"nik": nik}, headers=world.auth("officer"))
        assert found.status_code == 200
        assert found.json() == []


def test_registration_and_search_stay_with_staff_of_the_organisation(world: World) -> None:
    """Only an officer registers, only into their own organisation; compliance officers
    and administrators do not search, and a search never crosses organisations."""
    fresh = {**NEW_SUBJECT, "nik": "3171017777777777", "register_number": "AI 777/2025"}
    for who in ("counselor", "compliance", "admin"):
        response = world.client.post("/v1/subjects", json=fresh, headers=world.auth(who))
        assert response.status_code == 403, (who, response.text)
    elsewhere = {**fresh, "organization": OTHER}
    response = world.client.post("/v1/subjects", json=elsewhere, headers=world.auth("officer"))
    assert response.status_code == 403
    for who in ("compliance", "admin"):
        response = world.client.get(
            "/v1/subjects", params={"nik": NEW_SUBJECT["nik"]}, headers=world.auth(who)
        )
        assert response.status_code == 403, (who, response.text)
    world.join("officer_b", "officer", OTHER)
    response = world.client.get(
        "/v1/subjects", params={"nik": NEW_SUBJECT["nik"]}, headers=world.auth("officer_b")
    )
    assert response.status_code == 200
    assert response.json() == []


def test_reads_do_not_tell_which_record_ids_exist(world: World) -> None:
    """An officer who may not read a subject's records gets one answer for an existing
    record and a missing one; the care team is still told a record is missing."""
    record_id = world.create_record("counselor", "psychological_assessment", ASSESSMENT)
    missing = str(uuid.uuid4())
    existing = answer(world.read("officer", record_id, purpose="counseling"))
    absent = answer(world.read("officer", missing, purpose="counseling"))
    assert existing == absent
    assert existing[0] == 404
    told = answer(world.read("counselor", missing, purpose="counseling"))
    assert told[0] == 404
    assert told[1]["detail"] == "No such record."
