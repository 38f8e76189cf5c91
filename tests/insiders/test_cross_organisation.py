"""Another organisation's staff as insiders (THREATS.md): a compliance officer or an
administrator of one organisation acting on another's subject, and an administrator
approving their own erasure through an account they created."""

from __future__ import annotations

import uuid
from typing import Any

from tests.support import DEFAULT_PASSWORD, activate, answer, login
from tests.world import ORG, World, world
from vault.vocabulary import AuthenticatedUser

__all__ = ["world"]

OTHER = "lapas-cipinang"


def _subject(world: World) -> dict[str, Any]:
    response = world.client.get(f"/v1/subjects/{world.subject_id}", headers=world.auth("officer"))
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def test_another_organisations_compliance_officer_cannot_lift_a_legal_hold(world: World) -> None:
    """Lifting the hold of another organisation's subject answers exactly like a subject
    that does not exist, and the hold stays."""
    path = f"/v1/subjects/{world.subject_id}/legal-hold"
    held = world.client.put(path, json={"hold": True}, headers=world.auth("compliance"))
    assert held.status_code == 200, held.text
    world.join("compliance_b", "compliance_officer", OTHER)
    lifted = world.client.put(path, json={"hold": False}, headers=world.auth("compliance_b"))
    missing = world.client.put(
        f"/v1/subjects/{uuid.uuid4()}/legal-hold",
        json={"hold": False},
        headers=world.auth("compliance_b"),
    )
    assert answer(lifted) == answer(missing)
    assert lifted.status_code == 404
    assert _subject(world)["legal_hold"] is True


def test_another_organisations_compliance_officer_cannot_approve_erasure(world: World) -> None:
    """An erasure approval for another organisation's subject answers like a missing subject."""
    world.join("compliance_b", "compliance_officer", OTHER)
    approved = world.client.post(
        f"/v1/subjects/{world.subject_id}/erasure-approvals", headers=world.auth("compliance_b")
    )
    missing = world.client.post(
        f"/v1/subjects/{uuid.uuid4()}/erasure-approvals", headers=world.auth("compliance_b")
    )
    assert answer(approved) == answer(missing)
    assert approved.status_code == 404


def test_another_organisations_admin_cannot_erase(world: World) -> None:
    """An administrator of another organisation holding a valid approval cannot erase the
    subject: the answer is the one for a missing subject, and the subject stays."""
    approval = world.post("compliance", f"/v1/subjects/{world.subject_id}/erasure-approvals", {})
    world.join("admin_b", "admin", OTHER)
    erased = world.client.delete(
        f"/v1/subjects/{world.subject_id}",
        params={"approval": approval["id"]},
        headers=world.auth("admin_b"),
    )
    missing = world.client.delete(
        f"/v1/subjects/{uuid.uuid4()}",
        params={"approval": approval["id"]},
        headers=world.auth("admin_b"),
    )
    assert answer(erased) == answer(missing)
    assert erased.status_code == 404
    assert _subject(world)["status"] != "erased"


def test_an_admin_cannot_approve_their_own_erasure_through_an_account_they_made(
    world: World,
) -> None:
    """The approval of a compliance account the erasing administrator created is not a
    second person's: the erasure is refused and audited, and the subject stays."""
    admin = AuthenticatedUser(
        id=uuid.UUID(world.user_ids["admin"]),
        username="admin",
        role="admin",
        organization=ORG,
        token_id=uuid.uuid4(),
    )
    first = f"first {DEFAULT_PASSWORD}"
    puppet = world.services.identity.create_user(
        "puppet", first, "compliance_officer", ORG, actor=admin
    )
    world.user_ids["puppet"] = str(puppet.id)
    # The organisation's real compliance officer approves the account (it is a person):
    # the admin's trick is to use it for their own erasure.
    approved = world.client.post(f"/v1/users/{puppet.id}/approve", headers=world.auth("compliance"))
    assert approved.status_code == 200, approved.text
    code = approved.json()["activation_code"]
    activate(world.client, "puppet", first, code, DEFAULT_PASSWORD)
    world.headers["puppet"] = login(world.client, "puppet")
    approval = world.post("puppet", f"/v1/subjects/{world.subject_id}/erasure-approvals", {})
    erased = world.client.delete(
        f"/v1/subjects/{world.subject_id}",
        params={"approval": approval["id"]},
        headers=world.auth("admin"),
    )
    assert erased.status_code == 403, erased.text
    assert _subject(world)["status"] != "erased"
    # A second person's approval still works.
    real = world.post("compliance", f"/v1/subjects/{world.subject_id}/erasure-approvals", {})
    done = world.client.delete(
        f"/v1/subjects/{world.subject_id}",
        params={"approval": real["id"]},
        headers=world.auth("admin"),
    )
    assert done.status_code == 204, done.text
