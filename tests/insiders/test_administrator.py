"""An administrator: creates and disables accounts. The vault promises that they act only
in their own organisation, and that an account able to read content or approve anything
is active only after a second person, not made by that administrator, approves it."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

from litestar.testing import TestClient
from sqlalchemy import select, update
from sqlmodel import col

from tests.support import DEFAULT_PASSWORD, create_user, create_user_over_api, login
from tests.world import ORG, World
from vault.app import create_app
from vault.audit.models import AuditRow
from vault.identity.session_models import WebSession
from vault.vocabulary import EventAction

OTHER_ORG = "lapas-cipinang"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _body(response: Any) -> dict[str, Any]:
    """A problem body without what differs on every request."""
    return {k: v for k, v in response.json().items() if k not in {"request_id", "instance"}}


def _tries_login(world: World, username: str, password: str = DEFAULT_PASSWORD) -> int:
    response = world.client.post(
        "/v1/auth/login", json={"username": username, "password": password}
    )
    return int(response.status_code)


def test_admin_cannot_mint_a_counselor_in_another_organisation(world: World) -> None:
    """POST /v1/users into another organisation answers like an unknown organisation and
    makes nothing, so no counselor of the other organisation can be minted to read there."""
    create_user(world.services, "officer.cipinang", "officer", OTHER_ORG)
    body = {"username": "mole", "password": DEFAULT_PASSWORD, "role": "counselor"}
    foreign = world.client.post(
        "/v1/users", json={**body, "organization": OTHER_ORG}, headers=world.auth("admin")
    )
    unknown = world.client.post(
        "/v1/users", json={**body, "organization": "lapas-nowhere"}, headers=world.auth("admin")
    )
    assert foreign.status_code == unknown.status_code == 404
    assert _body(foreign) == _body(unknown)
    assert _tries_login(world, "mole") == 401


def test_admin_cannot_see_or_disable_another_organisations_compliance_officer(
    world: World,
) -> None:
    """Another organisation's account answers GET and disable exactly like a missing one,
    and stays active."""
    victim = create_user(world.services, "auditor.cipinang", "compliance_officer", OTHER_ORG)
    missing = uuid.uuid4()
    admin = world.auth("admin")
    for path in ("/v1/users/{}", "/v1/users/{}/disable"):
        method = world.client.get if path.endswith("}") else world.client.post
        theirs = method(path.format(victim), headers=admin)
        nobody = method(path.format(missing), headers=admin)
        assert theirs.status_code == nobody.status_code == 404, (path, theirs.text)
        assert _body(theirs) == _body(nobody)
    login(world.client, "auditor.cipinang")


def test_admin_listing_shows_only_their_organisation(world: World) -> None:
    """GET /v1/users lists the admin's own organisation only."""
    create_user(world.services, "someone.cipinang", "counselor", OTHER_ORG)
    listed = world.client.get("/v1/users", headers=world.auth("admin"))
    assert listed.status_code == 200
    organisations = {user["organization"] for user in listed.json()["users"]}
    assert organisations == {ORG}


def test_an_account_made_by_an_admin_is_inactive_until_a_second_person_approves(
    world: World,
) -> None:
    """A counselor the admin creates cannot log in; the admin cannot approve it; a
    compliance officer can, and the approval is audited under both names."""
    new_id = create_user_over_api(
        world.client, world.auth("admin"), None, "newcounselor", "counselor", ORG
    )
    shown = world.client.get(f"/v1/users/{new_id}", headers=world.auth("admin")).json()
    assert (shown["status"], shown["active"]) == ("pending", False)
    assert _tries_login(world, "newcounselor") == 401
    refused = world.client.post(f"/v1/users/{new_id}/approve", headers=world.auth("admin"))
    assert refused.status_code == 403
    pending = world.client.get(
        "/v1/users", params={"status": "pending"}, headers=world.auth("compliance")
    )
    assert [user["id"] for user in pending.json()["users"]] == [new_id]
    approved = world.client.post(f"/v1/users/{new_id}/approve", headers=world.auth("compliance"))
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["active"]) == ("awaiting_activation", False)
    activation = {
        "username": "newcounselor",
        "password": DEFAULT_PASSWORD,
        "activation_code": approved.json()["activation_code"],
        "new_password": "the counselor's own password",
    }
    assert world.client.post("/v1/auth/activate", json=activation).status_code == 200
    login(world.client, "newcounselor", "the counselor's own password")
    with world.services.db.read_session() as session:
        events = session.execute(
            select(col(AuditRow.actor_id), col(AuditRow.outcome), col(AuditRow.canonical)).where(
                col(AuditRow.action) == EventAction.USER_APPROVE.value
            )
        ).all()
    by_outcome = {
        outcome: (actor_id, bytes(canonical).decode()) for actor_id, outcome, canonical in events
    }
    # The admin's refused attempt is in the log under the admin's own name.
    assert by_outcome["deny"][0] == uuid.UUID(world.user_ids["admin"])
    actor_id, written = by_outcome["allow"]
    assert actor_id == uuid.UUID(world.user_ids["compliance"])
    assert new_id in written
    assert world.user_ids["admin"] in written  # the creator, named beside the approver


def test_a_compliance_officer_made_by_the_admin_cannot_approve_the_admins_accounts(
    world: World,
) -> None:
    """The admin makes a compliance officer, has it approved, and tries to use it to approve
    a counselor the admin made: refused, because both are the admin's accounts."""
    puppet_id = create_user_over_api(
        world.client,
        world.auth("admin"),
        world.auth("compliance"),
        "puppet",
        "compliance_officer",
        ORG,
    )
    sock_id = create_user_over_api(
        world.client, world.auth("admin"), None, "sock", "counselor", ORG
    )
    puppet = login(world.client, "puppet")
    refused = world.client.post(f"/v1/users/{sock_id}/approve", headers=puppet)
    assert refused.status_code == 403
    assert _tries_login(world, "sock") == 401
    assert puppet_id != sock_id


def test_an_admin_cannot_approve_an_admin_they_made(world: World) -> None:
    """A second admin made by the admin stays pending until another admin approves it."""
    other_admin = create_user(world.services, "admin.two", "admin", ORG)
    deputy = create_user_over_api(world.client, world.auth("admin"), None, "deputy", "admin", ORG)
    refused = world.client.post(f"/v1/users/{deputy}/approve", headers=world.auth("admin"))
    assert refused.status_code == 403
    staff_approval = world.client.post(
        f"/v1/users/{deputy}/approve", headers=world.auth("compliance")
    )
    assert staff_approval.status_code == 403  # an admin is approved by an admin
    approved = world.client.post(
        f"/v1/users/{deputy}/approve", headers=login(world.client, "admin.two")
    )
    assert approved.status_code == 200, approved.text
    assert other_admin != uuid.UUID(deputy)


def _dashboard(world: World) -> TestClient[Any]:
    return TestClient(
        create_app(world.services.settings, world.services), base_url="http://127.0.0.1"
    )


def _dashboard_login(client: TestClient[Any], username: str) -> None:
    page = client.get("/dashboard/login")
    token = CSRF.search(page.text)
    assert token is not None
    response = client.post(
        "/dashboard/login",
        data={"csrf_token": token.group(1), "username": username, "password": DEFAULT_PASSWORD},
    )
    assert response.status_code == 200, response.text
    assert str(response.url).endswith("/dashboard")


def test_disabling_ends_bearer_tokens_and_browser_sessions_at_once(world: World) -> None:
    """Once the admin disables a compliance officer, neither their token nor their open
    dashboard session works any more."""
    bearer = world.auth("compliance")
    with _dashboard(world) as browser:
        _dashboard_login(browser, "compliance")
        assert browser.get("/dashboard").status_code == 200
        disabled = world.client.post(
            f"/v1/users/{world.user_ids['compliance']}/disable", headers=world.auth("admin")
        )
        assert disabled.status_code == 200
        assert disabled.json()["status"] == "disabled"
        after = browser.get("/dashboard", follow_redirects=False)
        assert after.status_code in (302, 303)
        assert after.headers["location"].startswith("/dashboard/login")
    assert world.client.get("/v1/me", headers=bearer).status_code == 401
    with world.services.db.read_session() as session:
        open_rows = session.execute(
            select(col(WebSession.id))
            .where(col(WebSession.user_id) == uuid.UUID(world.user_ids["compliance"]))
            .where(col(WebSession.ended_at).is_(None))
        ).all()
    assert open_rows == []


def test_a_browser_session_ends_after_its_absolute_lifetime(world: World) -> None:
    """A dashboard session, however active, ends once VAULT_WEB_SESSION_MAX_SECONDS passed
    since it was opened."""
    with _dashboard(world) as browser:
        _dashboard_login(browser, "compliance")
        assert browser.get("/dashboard").status_code == 200
        lifetime = timedelta(seconds=world.services.settings.web_session_max_seconds)
        with world.services.db.session() as session:
            row = session.execute(
                select(WebSession).where(col(WebSession.kind) == "dashboard")
            ).scalar_one()
            session.execute(
                update(WebSession)
                .where(col(WebSession.id) == row.id)
                .values(created_at=row.created_at - lifetime)
            )
        after = browser.get("/dashboard", follow_redirects=False)
        assert after.status_code in (302, 303)


def test_an_admin_cannot_bring_a_disabled_account_back_alone(world: World) -> None:
    """Once disabled, an account stays disabled: no approval re-enables it, its username
    cannot be taken again, and it neither logs in nor keeps its token."""
    victim = world.user_ids["counselor"]
    headers = world.auth("counselor")
    admin = world.auth("admin")
    assert world.client.post(f"/v1/users/{victim}/disable", headers=admin).status_code == 200
    for who in ("admin", "compliance"):
        again = world.client.post(f"/v1/users/{victim}/approve", headers=world.auth(who))
        assert again.status_code in (403, 409), again.text
    body = {
        "username": "counselor",
        "password": DEFAULT_PASSWORD,
        "role": "counselor",
        "organization": ORG,
    }
    assert world.client.post("/v1/users", json=body, headers=admin).status_code == 409
    credentials = {"username": "counselor", "password": DEFAULT_PASSWORD}
    assert world.client.post("/v1/auth/login", json=credentials).status_code == 401
    assert world.client.get("/v1/me", headers=headers).status_code == 401
    shown = world.client.get(f"/v1/users/{victim}", headers=admin)
    assert shown.json()["status"] == "disabled"


def test_the_admin_who_chose_the_first_password_cannot_use_the_approved_account(
    world: World,
) -> None:
    """The admin types the new counselor's first password, so after a compliance officer
    approves the account the admin could log in as it, assign it and read. The first
    password alone opens nothing: the account's holder activates it with that password
    and the code the approver handed them, choosing a password neither knows."""
    first = "the admin typed this first password"
    new_id = create_user_over_api(
        world.client, world.auth("admin"), None, "dewi", "counselor", ORG, password=first
    )
    approved = world.client.post(f"/v1/users/{new_id}/approve", headers=world.auth("compliance"))
    assert approved.status_code == 200, approved.text
    code = approved.json()["activation_code"]
    assert approved.json()["status"] == "awaiting_activation"
    # The admin, alone with the first password:
    assert _tries_login(world, "dewi", first) == 401
    # The compliance officer, alone with the code, does not know the first password:
    guessed = {"username": "dewi", "password": "a guess", "activation_code": code}
    attempt = world.client.post(
        "/v1/auth/activate", json={**guessed, "new_password": "the approver's own choice"}
    )
    assert attempt.status_code == 401, attempt.text
    wrong_code = {"username": "dewi", "password": first, "activation_code": "WRONG-CODE"}
    attempt = world.client.post(
        "/v1/auth/activate", json={**wrong_code, "new_password": "the admin's own choice!"}
    )
    assert attempt.status_code == 401, attempt.text
    # Dewi, with both halves, chooses her own password.
    mine = "dewi chose this one herself"
    both = {"username": "dewi", "password": first, "activation_code": code}
    activated = world.client.post("/v1/auth/activate", json={**both, "new_password": mine})
    assert activated.status_code == 200, activated.text
    assert activated.json()["status"] == "active"
    assert _tries_login(world, "dewi", first) == 401
    login(world.client, "dewi", mine)
    again = world.client.post("/v1/auth/activate", json={**both, "new_password": "once more!!"})
    assert again.status_code == 401
