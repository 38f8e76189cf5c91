"""The access review: a compliance officer sees every active account and assignment of
their organisation (none of another's), confirms or ends each through audited,
policy-decided operations, never confirms their own access, and an overdue review
raises an alert."""

from __future__ import annotations

import uuid

from litestar.testing import TestClient
from sqlalchemy import select

from tests.support import create_user, login
from tests.web.conftest import ORG, OTHER_ORG, PASSWORD, World, csrf_of, staff_login
from vault.access.models import Assignment
from vault.audit.models import EVENTS
from vault.identity.models import User
from vault.vocabulary import EventAction, Principal, Role

Client = TestClient  # type: ignore[type-arg]


def _user(world: World, username: str) -> User:
    with world.services.db.read_session() as session:
        found = session.execute(select(User).where(User.username == username)).scalar_one()
        session.expunge(found)
        return found


def _assigned(world: World, username: str, organization: str = ORG) -> uuid.UUID:
    """An assignment of ``username`` to a new subject, made by the organisation's officer."""
    officer = Principal(world.officers[organization], Role.OFFICER, organization)
    subject = world.subject(organization=organization, pin=None)
    return world.services.access.assign(officer, _user(world, username).id, subject)


def _outcomes(world: World, action: EventAction) -> list[str]:
    with world.services.db.read_session() as session:
        return list(
            session.execute(
                select(EVENTS.c.outcome).where(EVENTS.c.action == action.value)
            ).scalars()
        )


def _decide(client: Client, page: str, kind: str, target: uuid.UUID, decision: str) -> int:
    return client.post(
        f"/dashboard/review/{kind}/{target}",
        data={"csrf_token": csrf_of(page), "decision": decision},
        follow_redirects=False,
    ).status_code


def test_the_review_lists_only_the_organisations_accounts_and_assignments(
    world: World, client: Client
) -> None:
    """Accounts and assignments of the organisation show; another organisation's do not."""
    mine = _assigned(world, "counselor1")
    staff_login(client, "compliance1", "/dashboard/login")
    page = client.get("/dashboard/review").text
    assert "Tinjauan hak akses" in page
    assert "counselor1" in page
    assert f"/dashboard/review/assignment/{mine}" in page
    assert f"/dashboard/review/account/{_user(world, 'counselor1').id}" in page
    assert "officer2" not in page


def test_another_organisations_account_answers_as_a_missing_one(
    world: World, client: Client
) -> None:
    """Confirming or ending another organisation's account answers 404, like no account."""
    page = staff_login(client, "compliance1", "/dashboard/login")
    theirs = _user(world, "officer2").id
    for decision in ("confirm", "end"):
        assert _decide(client, page, "account", theirs, decision) == 404
        assert _decide(client, page, "account", uuid.uuid4(), decision) == 404
    assert _user(world, "officer2").disabled_at is None


def test_a_reviewer_cannot_confirm_their_own_access(world: World, client: Client) -> None:
    """A forged confirmation of the officer's own account is refused and audited."""
    page = staff_login(client, "compliance1", "/dashboard/login")
    own = _user(world, "compliance1").id
    assert "Ditinjau petugas kepatuhan lain" in client.get("/dashboard/review").text
    assert _decide(client, page, "account", own, "confirm") == 403
    assert _outcomes(world, EventAction.ACCESS_REVIEW_CONFIRM) == ["deny"]


def test_confirming_is_audited_and_shown(world: World, client: Client) -> None:
    """A confirmation is an allowed audit event and the page shows when it was made."""
    page = staff_login(client, "compliance1", "/dashboard/login")
    target = _user(world, "counselor1").id
    assert _decide(client, page, "account", target, "confirm") == 303
    assert _outcomes(world, EventAction.ACCESS_REVIEW_CONFIRM) == ["allow"]
    after = client.get("/dashboard/review").text
    row = after.split(f"/dashboard/review/account/{target}")[0].rsplit("<tr", 1)[1]
    assert world.clock().date().isoformat() in row.split("belum pernah")[0]


def test_ending_an_assignment_and_an_account_revokes_them(world: World, client: Client) -> None:
    """Ending goes through the ordinary operations: the assignment ends, the account is disabled."""
    assignment = _assigned(world, "counselor1")
    page = staff_login(client, "compliance1", "/dashboard/login")
    assert _decide(client, page, "assignment", assignment, "end") == 303
    with world.services.db.read_session() as session:
        ended = session.get(Assignment, assignment)
        assert ended is not None
        assert ended.ended_at is not None
    health = _user(world, "health1").id
    assert _decide(client, page, "account", health, "end") == 303
    assert _user(world, "health1").disabled_at is not None
    assert _outcomes(world, EventAction.ASSIGNMENT_END) == ["info"]
    assert _outcomes(world, EventAction.USER_DISABLE) == ["info"]
    assert _outcomes(world, EventAction.ACCESS_REVIEW_END) == ["allow", "allow"]
    assert _decide(client, page, "assignment", assignment, "end") == 404


def test_an_overdue_review_is_reminded_and_raises_one_alert(world: World, client: Client) -> None:
    """After a quarter without confirmation the dashboard reminds and alerts, once a period."""
    staff_login(client, "compliance1", "/dashboard/login")
    assert "Tinjauan hak akses sudah mutakhir" in client.get("/dashboard").text
    world.clock.advance(days=world.services.settings.access_review_days + 1)
    page = staff_login(client, "compliance1", "/dashboard/login")
    assert "terlambat ditinjau" in page
    assert "Tinjauan hak akses terlambat" in page
    client.get("/dashboard")
    assert _outcomes(world, EventAction.ACCESS_REVIEW_OVERDUE) == ["info"]


def test_the_review_speaks_english_after_the_switch(world: World, client: Client) -> None:
    """The review page follows the dashboard's language."""
    page = staff_login(client, "compliance1", "/dashboard/login")
    client.post("/dashboard/language", data={"csrf_token": csrf_of(page), "language": "en"})
    assert "Access review" in client.get("/dashboard/review").text
    assert OTHER_ORG not in client.get("/dashboard/review").text


def test_ending_an_administrators_account_is_left_to_another_administrator(
    world: World, client: Client
) -> None:
    """The review ends staff accounts only: an admin stays active and the refusal is audited."""
    admin = create_user(world.services, "admin1", "admin", ORG, PASSWORD)
    page = staff_login(client, "compliance1", "/dashboard/login")
    assert _decide(client, page, "account", admin, "end") == 403
    assert _user(world, "admin1").disabled_at is None
    assert _outcomes(world, EventAction.USER_DISABLE) == ["deny"]
    assert _outcomes(world, EventAction.ACCESS_REVIEW_END) == []


def test_the_review_api_lists_and_decides_for_compliance_officers_only(
    world: World, client: Client
) -> None:
    """GET /v1/audit/access-review lists the organisation; decisions follow the same rules."""
    assignment = _assigned(world, "counselor1")
    officer = login(client, "compliance1", PASSWORD)
    listed = client.get("/v1/audit/access-review", headers=officer)
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert {(i["kind"], i["username"]) for i in items} >= {
        ("account", "counselor1"),
        ("assignment", "counselor1"),
    }
    assert all(i["username"] != "officer2" for i in items)
    path = f"/v1/audit/access-review/assignment/{assignment}"
    assert client.post(path, json={"decision": "confirm"}, headers=officer).status_code == 200
    own = f"/v1/audit/access-review/account/{_user(world, 'compliance1').id}"
    assert client.post(own, json={"decision": "confirm"}, headers=officer).status_code == 403
    theirs = f"/v1/audit/access-review/account/{_user(world, 'officer2').id}"
    assert client.post(theirs, json={"decision": "end"}, headers=officer).status_code == 404
    counselor = login(client, "counselor1", PASSWORD)
    assert client.get("/v1/audit/access-review", headers=counselor).status_code == 403
    assert client.post(path, json={"decision": "end"}, headers=counselor).status_code == 403
    bad = client.post(path, json={"decision": "maybe"}, headers=officer)
    assert bad.status_code in (400, 422)


def test_an_officer_cannot_end_the_peer_reviewing_them_nor_an_admin_on_any_path(
    world: World, client: Client
) -> None:
    """Ending a peer compliance officer's or an admin's account is refused, audited, everywhere."""
    peer = create_user(world.services, "compliance2", "compliance_officer", ORG, PASSWORD)
    admin = create_user(world.services, "admin1", "admin", ORG, PASSWORD)
    reviewer = login(client, "compliance2", PASSWORD)
    me = f"/v1/audit/access-review/account/{_user(world, 'compliance1').id}"
    assert client.post(me, json={"decision": "confirm"}, headers=reviewer).status_code == 200
    page = staff_login(client, "compliance1", "/dashboard/login")
    officer = login(client, "compliance1", PASSWORD)
    for target in (peer, admin):
        assert _decide(client, page, "account", target, "end") == 403
        path = f"/v1/audit/access-review/account/{target}"
        assert client.post(path, json={"decision": "end"}, headers=officer).status_code == 403
        direct = client.post(f"/v1/users/{target}/disable", headers=officer)
        assert direct.status_code == 403
    assert _user(world, "compliance2").disabled_at is None
    assert _user(world, "admin1").disabled_at is None
    assert _outcomes(world, EventAction.USER_DISABLE) == ["deny"] * 6
    assert _outcomes(world, EventAction.ACCESS_REVIEW_END) == []
    assert client.get("/v1/audit/access-review", headers=reviewer).status_code == 200
