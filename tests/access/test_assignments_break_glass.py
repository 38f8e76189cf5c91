"""Assignments and break-glass over HTTP: who may, what the audit gets, when it takes effect."""

from __future__ import annotations

import uuid

from litestar import Litestar
from litestar.testing import TestClient

from tests.support import Clock, RecordingAudit, create_user, insert_subject, login
from vault.services import Services

ORG = "rutan-jakpus"
OTHER = "sentra-handayani"
JUSTIFICATION = (
    "Subject collapsed in the cell block; the treating team needs the current "
    "medication history before the ambulance arrives."
)


def _is_assigned(services: Services, user_id: uuid.UUID, subject_id: uuid.UUID) -> bool:
    with services.db.read_session() as session:
        return services.access_facts.is_assigned(session, user_id, subject_id)


def test_officer_assigns_and_ending_takes_effect_at_once(
    client: TestClient[Litestar], services: Services, events: RecordingAudit
) -> None:
    """An officer assigns a counselor; ending it removes the assignment for the next request."""
    create_user(services, "off1", "officer", ORG)
    counselor = create_user(services, "coun1", "counselor", ORG)
    subject = insert_subject(services, ORG)
    officer = login(client, "off1")
    created = client.post(
        "/v1/assignments",
        json={"user_id": str(counselor), "subject_id": str(subject)},
        headers=officer,
    )
    assert created.status_code == 201
    assignment_id = created.json()["id"]
    assert _is_assigned(services, counselor, subject)
    again = client.post(
        "/v1/assignments",
        json={"user_id": str(counselor), "subject_id": str(subject)},
        headers=officer,
    )
    assert again.status_code == 409
    assert client.delete(f"/v1/assignments/{assignment_id}", headers=officer).status_code == 204
    assert not _is_assigned(services, counselor, subject)
    assert client.delete(f"/v1/assignments/{assignment_id}", headers=officer).status_code == 404
    assert {"assignment.create", "assignment.end"} <= set(events.actions())


def test_assignments_are_refused_to_the_wrong_people(
    client: TestClient[Litestar], services: Services
) -> None:
    """A counselor cannot assign; an officer cannot assign across organisations, to nothing,
    or anyone who does not read content (policy ops.manage-assignments)."""
    create_user(services, "off2", "officer", ORG)
    create_user(services, "off-elsewhere", "officer", OTHER)
    counselor = create_user(services, "coun2", "counselor", ORG)
    auditor = create_user(services, "aud2", "compliance_officer", ORG)
    subject = insert_subject(services, ORG)
    body = {"user_id": str(counselor), "subject_id": str(subject)}
    assert (
        client.post("/v1/assignments", json=body, headers=login(client, "coun2")).status_code == 403
    )
    assert (
        client.post(
            "/v1/assignments", json=body, headers=login(client, "off-elsewhere")
        ).status_code
        == 404
    )
    officer = login(client, "off2")
    missing = {"user_id": str(counselor), "subject_id": str(uuid.uuid4())}
    assert client.post("/v1/assignments", json=missing, headers=officer).status_code == 404
    not_staff = {"user_id": str(auditor), "subject_id": str(subject)}
    refused = client.post("/v1/assignments", json=not_staff, headers=officer)
    assert refused.status_code == 403


def test_break_glass_flow(
    client: TestClient[Litestar], services: Services, events: RecordingAudit, clock: Clock
) -> None:
    """A health officer opens break-glass; it expires; compliance reviews it once;
    the justification never reaches the audit log."""
    health = create_user(services, "ho1", "health_officer", ORG)
    create_user(services, "co1", "compliance_officer", ORG)
    subject = insert_subject(services, ORG)
    headers = login(client, "ho1")
    opened = client.post(
        f"/v1/subjects/{subject}/break-glass",
        json={"justification": JUSTIFICATION},
        headers=headers,
    )
    assert opened.status_code == 201
    grant_id = opened.json()["id"]
    with services.db.read_session() as session:
        grant = services.access_facts.break_glass(session, health, subject, clock.now)
    assert grant is not None
    assert str(grant.id) == grant_id
    opened_events = [e for e in events.events if e.action == "break_glass.open"]
    assert len(opened_events) == 1
    assert str(opened_events[0].break_glass_id) == grant_id
    assert "medication" not in repr(events.events)

    compliance = login(client, "co1")
    pending = client.get("/v1/break-glass?pending=true", headers=compliance)
    assert pending.status_code == 200
    assert [g["id"] for g in pending.json()] == [grant_id]
    assert client.get("/v1/break-glass", headers=headers).status_code == 403
    review = client.post(
        f"/v1/break-glass/{grant_id}/review",
        json={"outcome": "unjustified", "note": "no emergency on record"},
        headers=compliance,
    )
    assert review.status_code == 200
    assert review.json()["outcome"] == "unjustified"
    # An unjustified grant ends at once; a second review is a conflict.
    with services.db.read_session() as session:
        assert services.access_facts.break_glass(session, health, subject, clock.now) is None
    assert (
        client.post(
            f"/v1/break-glass/{grant_id}/review", json={"outcome": "justified"}, headers=compliance
        ).status_code
        == 409
    )
    assert client.get("/v1/break-glass?pending=true", headers=compliance).json() == []
    assert "break_glass.review" in events.actions()


def test_break_glass_expires(
    client: TestClient[Litestar], services: Services, clock: Clock
) -> None:
    """A grant stops counting once its time is up."""
    counselor = create_user(services, "coun3", "counselor", ORG)
    subject = insert_subject(services, ORG)
    response = client.post(
        f"/v1/subjects/{subject}/break-glass",
        json={"justification": JUSTIFICATION},
        headers=login(client, "coun3"),
    )
    assert response.status_code == 201
    clock.advance(services.settings.break_glass_ttl_seconds - 1)
    with services.db.read_session() as session:
        assert services.access_facts.break_glass(session, counselor, subject, clock.now)
    clock.advance(1)
    with services.db.read_session() as session:
        assert services.access_facts.break_glass(session, counselor, subject, clock.now) is None


def test_break_glass_is_refused_without_reason_or_role(
    client: TestClient[Litestar], services: Services
) -> None:
    """A social worker cannot break the glass; nobody can with an empty or token justification."""
    create_user(services, "sw1", "social_worker", ORG)
    create_user(services, "coun4", "counselor", ORG)
    create_user(services, "coun-other", "counselor", OTHER)
    subject = insert_subject(services, ORG)
    url = f"/v1/subjects/{subject}/break-glass"
    good = {"justification": JUSTIFICATION}
    assert client.post(url, json=good, headers=login(client, "sw1")).status_code == 403
    counselor = login(client, "coun4")
    for text in ("", "urgent", "x" * 80, "urgent urgent urgent urgent urgent urgent"):
        assert client.post(url, json={"justification": text}, headers=counselor).status_code in (
            400,
            422,
        ), text
    assert client.post(url, json=good, headers=login(client, "coun-other")).status_code == 404
