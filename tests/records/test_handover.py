"""Handover after release: a sentra reads a subject's data only under a consent naming it."""

from __future__ import annotations

from tests.records.story import FAMILY
from tests.support import create_user, login
from tests.world import SUBJECT_PIN, World

SENTRA = "sentra-handayani"


def sentra_staff(world: World) -> dict[str, str]:
    for who, role in (("sentra_admin", "admin"), ("sentra_sw", "social_worker")):
        world.user_ids[who] = str(create_user(world.services, who, role, SENTRA))
        world.headers[who] = login(world.client, who)
    return world.user_ids


def consent_to_handover(world: World) -> str:
    body = world.post(
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
    return str(body["id"])


def assign_sentra_worker(world: World) -> int:
    response = world.client.post(
        "/v1/assignments",
        json={"user_id": world.user_ids["sentra_sw"], "subject_id": world.subject_id},
        headers=world.auth("sentra_admin"),
    )
    return int(response.status_code)


def test_sentra_reads_family_data_only_under_the_handover_consent(world: World) -> None:
    """Without the consent the sentra cannot even see the subject; with it, its assigned
    social worker reads family data for the handover purpose, and nothing for others."""
    family = world.create_record("social_worker", "family_data", FAMILY)
    sentra_staff(world)
    assert assign_sentra_worker(world) == 404  # no consent names the sentra yet
    consent_id = consent_to_handover(world)
    assert assign_sentra_worker(world) == 201
    response = world.read("sentra_sw", family, purpose="handover_kemensos")
    assert response.status_code == 200, response.text
    assert response.json()["fields"] == FAMILY
    assert response.json()["consent_id"] == consent_id
    # The social reintegration consent names the holding rutan only, not the sentra.
    other = world.read("sentra_sw", family, purpose="social_reintegration")
    assert other.status_code == 404
    # Withdrawal ends the sentra's access on the very next request.
    withdrawn = world.client.post(
        f"/v1/consents/{consent_id}/withdraw", json={}, headers=world.auth("officer")
    )
    assert withdrawn.status_code == 200
    assert world.read("sentra_sw", family, purpose="handover_kemensos").status_code == 404


def test_rutan_admin_cannot_put_an_unnamed_organisation_on_the_care_team(world: World) -> None:
    """Assigning staff of an organisation no consent names is refused with a 422."""
    sentra_staff(world)
    response = world.client.post(
        "/v1/assignments",
        json={"user_id": world.user_ids["sentra_sw"], "subject_id": world.subject_id},
        headers=world.auth("admin"),
    )
    assert response.status_code == 422
    assert "recipient" in response.json()["detail"]
