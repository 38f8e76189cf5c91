"""The database writer of THREATS.md against the two-person rule: who made an account
(``users.created_by``) rewritten by hand does not make one administrator's two accounts
count as two people."""

from __future__ import annotations

import uuid

from sqlalchemy import update

from tests.support import DEFAULT_PASSWORD, create_user_over_api, login
from tests.world import ORG, World
from vault.identity.models import User


def _puppet_and_sock(world: World) -> tuple[dict[str, str], str]:
    """The admin's compliance officer (approved by the real one, activated) and a pending
    counselor the admin made; the puppet's approval of the sock is refused as it stands."""
    admin, compliance = world.auth("admin"), world.auth("compliance")
    create_user_over_api(world.client, admin, compliance, "puppet", "compliance_officer", ORG)
    sock = create_user_over_api(world.client, admin, None, "sock", "counselor", ORG)
    puppet = login(world.client, "puppet")
    refused = world.client.post(f"/v1/users/{sock}/approve", headers=puppet)
    assert refused.status_code == 403, refused.text
    return puppet, sock


def _write_creator(world: World, user_id: str, creator: uuid.UUID | None) -> None:
    """Set who made an account straight in the database, as a database writer could."""
    with world.services.db.session() as session:
        session.execute(
            update(User).where(User.id == uuid.UUID(user_id)).values(created_by=creator)
        )


def _still_pending(world: World, sock: str) -> None:
    shown = world.client.get(f"/v1/users/{sock}", headers=world.auth("admin"))
    assert shown.json()["status"] == "pending", shown.text
    credentials = {"username": "sock", "password": DEFAULT_PASSWORD}
    assert world.client.post("/v1/auth/login", json=credentials).status_code == 401


def test_a_creator_rubbed_out_of_a_pending_account_makes_no_second_person(world: World) -> None:
    """The pending counselor's created_by cleared (as if made on the host): the admin's own
    compliance officer still may not approve it."""
    puppet, sock = _puppet_and_sock(world)
    _write_creator(world, sock, None)
    refused = world.client.post(f"/v1/users/{sock}/approve", headers=puppet)
    assert refused.status_code == 403, refused.text
    _still_pending(world, sock)


def test_a_creator_rewritten_on_the_approver_makes_no_second_person(world: World) -> None:
    """The puppet's own created_by cleared, or pointed at the real compliance officer: the
    puppet's account no longer opens, and the counselor stays pending."""
    puppet, sock = _puppet_and_sock(world)
    puppet_id = world.services.identity.user_by_name("puppet").id
    for creator in (None, uuid.UUID(world.user_ids["compliance"])):
        _write_creator(world, str(puppet_id), creator)
        refused = world.client.post(f"/v1/users/{sock}/approve", headers=puppet)
        assert refused.status_code in (401, 403), refused.text
        assert not world.services.identity.distinct_people(puppet_id, uuid.UUID(sock))
    _still_pending(world, sock)


def test_a_creator_pointed_elsewhere_does_not_launder_an_account(world: World) -> None:
    """A pending counselor re-pointed to another creator is not approved by anyone: its seal
    no longer holds, so the approval (which would seal it afresh) is refused."""
    _, sock = _puppet_and_sock(world)
    _write_creator(world, sock, uuid.UUID(world.user_ids["officer"]))
    refused = world.client.post(f"/v1/users/{sock}/approve", headers=world.auth("compliance"))
    assert refused.status_code in (403, 409), refused.text
    _still_pending(world, sock)
