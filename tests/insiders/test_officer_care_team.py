"""The officer and the administrators of THREATS.md, on care teams: no one puts themself on
a care team, officers are not assignable to content, a recipient organisation manages only
its own staff, and another organisation's assignment answers like a missing one."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import create_user, login
from tests.world import SUBJECT_PIN, World, build_world
from vault.config import Settings
from vault.subjects.models import Subject

SENTRA = "sentra-handayani"
ELSEWHERE = "lapas-cipinang"


@pytest.fixture
def care(settings: Settings) -> Iterator[World]:
    """The records world: a subject of rutan-jakpus with its care team and a consent."""
    yield from build_world(settings)


def _problem(response: Any) -> dict[str, Any]:
    """A problem body without its request id (which differs on every request)."""
    body = dict(response.json())
    body.pop("request_id", None)
    return body


def _staff(world: World, who: str, role: str, organization: str) -> str:
    world.user_ids[who] = str(create_user(world.services, who, role, organization))
    world.headers[who] = login(world.client, who)
    return world.user_ids[who]


def _consent_to_handover(world: World) -> None:
    world.post(
        "officer",
        f"/v1/subjects/{world.subject_id}/consents",
        {
            "form_id": "rehabilitation",
            "form_version": 1,
            "language": "id",
            "granted_purposes": ["counseling", "social_reintegration", "handover_kemensos"],
            "recipients": {"handover_kemensos": [SENTRA]},
            "signature": {"method": "pin", "pin": SUBJECT_PIN},
        },
    )


def _identity_record(world: World) -> str:
    with world.services.db.read_session() as session:
        subject = session.get(Subject, uuid.UUID(world.subject_id))
        assert subject is not None
        return str(subject.identity_record_id)


def test_an_officer_cannot_assign_themself_and_then_read_identity(care: World) -> None:
    """An officer who puts themself on a subject's care team is refused, and so is the
    identity read the assignment would have opened."""
    identity = _identity_record(care)
    response = care.client.post(
        "/v1/assignments",
        json={"user_id": care.user_ids["officer"], "subject_id": care.subject_id},
        headers=care.auth("officer"),
    )
    assert response.status_code == 403, response.text
    read = care.read("officer", identity, purpose="administration")
    assert read.status_code in (403, 404)
    assert "fields" not in read.json()


def test_an_officer_is_not_assignable_to_content(care: World) -> None:
    """An administrator cannot put an officer on a care team (assignments are for the roles
    that read content), so the officer never reads program notes through one."""
    _staff(care, "officer2", "officer", "rutan-jakpus")
    response = care.client.post(
        "/v1/assignments",
        json={"user_id": care.user_ids["officer2"], "subject_id": care.subject_id},
        headers=care.auth("admin"),
    )
    assert response.status_code == 403, response.text


def test_a_recipient_organisation_cannot_remove_the_holding_organisations_staff(
    care: World,
) -> None:
    """The sentra named by a handover consent cannot end the rutan counselor's assignment:
    it answers exactly as for an assignment that does not exist, and the counselor stays."""
    _staff(care, "sentra_admin", "admin", SENTRA)
    _consent_to_handover(care)
    counselor = care.assignment_ids["counselor"]
    ended = care.client.delete(f"/v1/assignments/{counselor}", headers=care.auth("sentra_admin"))
    missing = care.client.delete(
        f"/v1/assignments/{uuid.uuid4()}", headers=care.auth("sentra_admin")
    )
    assert ended.status_code == missing.status_code == 404
    assert _problem(ended) == _problem(missing)
    with care.services.db.read_session() as session:
        assert care.services.access_facts.is_assigned(
            session, uuid.UUID(care.user_ids["counselor"]), uuid.UUID(care.subject_id)
        )


def test_a_recipient_organisation_cannot_assign_the_holding_organisations_staff(
    care: World,
) -> None:
    """The sentra cannot put a rutan counselor on the care team, only its own staff."""
    _staff(care, "sentra_admin", "admin", SENTRA)
    sentra_worker = _staff(care, "sentra_sw", "social_worker", SENTRA)
    _consent_to_handover(care)
    response = care.client.post(
        "/v1/assignments",
        json={"user_id": care.user_ids["counselor2"], "subject_id": care.subject_id},
        headers=care.auth("sentra_admin"),
    )
    assert response.status_code == 422, response.text
    own = care.client.post(
        "/v1/assignments",
        json={"user_id": sentra_worker, "subject_id": care.subject_id},
        headers=care.auth("sentra_admin"),
    )
    assert own.status_code == 201, own.text


def test_another_organisations_assignment_answers_like_a_missing_one(care: World) -> None:
    """An admin of an unrelated organisation gets the same 404 body for a real assignment id
    of another organisation as for an id that does not exist."""
    _staff(care, "admin_elsewhere", "admin", ELSEWHERE)
    headers = care.auth("admin_elsewhere")
    real = care.client.delete(
        f"/v1/assignments/{care.assignment_ids['counselor']}", headers=headers
    )
    missing = care.client.delete(f"/v1/assignments/{uuid.uuid4()}", headers=headers)
    assert real.status_code == missing.status_code == 404
    assert _problem(real) == _problem(missing)
    assigned = care.client.post(
        "/v1/assignments",
        json={"user_id": care.user_ids["counselor2"], "subject_id": care.subject_id},
        headers=headers,
    )
    nowhere = care.client.post(
        "/v1/assignments",
        json={"user_id": care.user_ids["counselor2"], "subject_id": str(uuid.uuid4())},
        headers=headers,
    )
    assert assigned.status_code == nowhere.status_code == 404
    assert _problem(assigned) == _problem(nowhere)
