"""The record read checks its bearer token inside its own snapshot: a remembered
token owner is only a guess, and a token that stops standing stops reading at once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col

from tests.conftest import make_settings
from tests.records.story import ASSESSMENT, audit_events
from tests.support import login
from tests.world import World, build_world
from vault.errors import AuthenticationFailed
from vault.http.auth import caller
from vault.identity.bearer import BearerCheck, TokenUsers
from vault.identity.models import AuthToken
from vault.identity.tokens import token_digest
from vault.vocabulary import AuthenticatedUser


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    yield from build_world(make_settings(database_url, tmp_path))


@pytest.fixture
def limited_world(database_url: str, tmp_path: Path) -> Iterator[World]:
    yield from build_world(make_settings(database_url, tmp_path, read_limit_per_minute=3))


def _digest(world: World, who: str) -> str:
    return token_digest(world.auth(who)["Authorization"].removeprefix("Bearer "))


def _reads_recorded(world: World) -> int:
    return len(audit_events(world, subject_id=world.subject_id, action="record.read"))


def _count_checks_on_their_own(world: World, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every token checked in a snapshot of its own (not inside a read), as it happens."""
    identity = world.services.identity
    checked: list[str] = []
    original = identity.authenticate_digest

    def counting(digest: str) -> AuthenticatedUser:
        checked.append(digest)
        return original(digest)

    monkeypatch.setattr(identity, "authenticate_digest", counting)
    return checked


def test_a_known_token_is_checked_inside_the_read(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once a token is known, a read checks it with its own statements, not on its own."""
    rid = world.create_record("counselor", "psychological_assessment", ASSESSMENT)
    assert world.read("counselor", rid, purpose="counseling").status_code == 200
    checked = _count_checks_on_their_own(world, monkeypatch)
    for _ in range(3):
        answer = world.read("counselor", rid, purpose="counseling")
        assert answer.status_code == 200
        assert answer.json()["fields"] == ASSESSMENT
    assert checked == []


def test_a_read_after_logout_is_refused_and_decides_nothing(world: World) -> None:
    """A token remembered by the process stops reading the moment it is logged out:
    401, no field, and no read event decided for it."""
    rid = world.create_record("counselor", "psychological_assessment", ASSESSMENT)
    assert world.read("counselor", rid, purpose="counseling").status_code == 200
    before = _reads_recorded(world)
    logout = world.client.post("/v1/auth/logout", headers=world.auth("counselor"))
    assert logout.status_code == 204
    refused = world.read("counselor", rid, purpose="counseling")
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "CANARY" not in refused.text
    assert _reads_recorded(world) == before
    assert world.services.identity.token_users.get(_digest(world, "counselor")) is None


def test_a_disabled_account_cannot_read_with_a_remembered_token(world: World) -> None:
    """Disabling the account refuses its next read, though the process knew the token."""
    rid = world.create_record("counselor", "psychological_assessment", ASSESSMENT)
    assert world.read("counselor", rid, purpose="counseling").status_code == 200
    disabled = world.client.post(
        f"/v1/users/{world.user_ids['counselor']}/disable", headers=world.auth("admin")
    )
    assert disabled.status_code == 200
    assert world.read("counselor", rid, purpose="counseling").status_code == 401


def test_a_token_revoked_in_the_database_stops_reading_at_once(world: World) -> None:
    """A revocation written by another process (here: straight into the token row) is
    seen by the very next read: the check runs in the read's own snapshot."""
    rid = world.create_record("counselor", "psychological_assessment", ASSESSMENT)
    assert world.read("counselor", rid, purpose="counseling").status_code == 200
    with world.services.db.session() as session:
        session.execute(
            update(AuthToken)
            .where(col(AuthToken.token_hash) == _digest(world, "counselor"))
            .values(revoked_at=col(AuthToken.expires_at))
        )
    refused = world.read("counselor", rid, purpose="counseling")
    assert refused.status_code == 401
    assert "CANARY" not in refused.text


def test_a_wrong_guess_never_widens_a_read(world: World) -> None:
    """Should the process believe a token belongs to someone else (here: the assigned
    counselor), the read is still decided for the token's real owner, who is not
    assigned: 404, and the event names the real owner."""
    rid = world.create_record("counselor", "psychological_assessment", ASSESSMENT)
    assert world.read("counselor", rid, purpose="counseling").status_code == 200
    users = world.services.identity.token_users
    assigned = users.get(_digest(world, "counselor"))
    assert assigned is not None
    users.remember(_digest(world, "counselor2"), assigned)
    refused = world.read("counselor2", rid, purpose="counseling")
    assert refused.status_code == 404
    assert "CANARY" not in refused.text
    reads = audit_events(world, subject_id=world.subject_id, action="record.read")
    by_real_owner = [e for e in reads if e["actor_id"] == world.user_ids["counselor2"]]
    assert [e["outcome"] for e in by_real_owner] == ["deny"]
    by_guessed = [e for e in reads if e["actor_id"] == world.user_ids["counselor"]]
    assert len(by_guessed) == 1  # the assigned counselor's own read, nothing more
    corrected = users.get(_digest(world, "counselor2"))
    assert corrected is not None
    assert str(corrected.id) == world.user_ids["counselor2"]


def test_a_revoked_token_does_not_spend_its_owners_reads(limited_world: World) -> None:
    """Reads with a logged-out token are refused before they count: its former owner,
    logged in again, still has the whole per-minute budget less their own reads."""
    world = limited_world
    rid = world.create_record("counselor", "psychological_assessment", ASSESSMENT)
    assert world.read("counselor", rid, purpose="counseling").status_code == 200
    stolen = world.auth("counselor")
    assert world.client.post("/v1/auth/logout", headers=stolen).status_code == 204
    for _ in range(5):
        assert world.read("counselor", rid, purpose="counseling").status_code == 401
    # A header of its own: the world's headers are shared with every test that copies it.
    again = login(world.client, "counselor")
    path = f"/v1/subjects/{world.subject_id}/records/{rid}"
    statuses = [
        world.client.get(path, params={"purpose": "counseling"}, headers=again).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]


def test_the_read_route_still_needs_a_token(world: World) -> None:
    """No token, another scheme or an unknown token: 401 before anything is read."""
    rid = world.create_record("counselor", "psychological_assessment", ASSESSMENT)
    path = f"/v1/subjects/{world.subject_id}/records/{rid}"
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer nope"}):
        refused = world.client.get(path, params={"purpose": "counseling"}, headers=headers)
        assert refused.status_code == 401
        assert "CANARY" not in refused.text


def test_a_check_is_never_taken_for_a_user(world: World) -> None:
    """A handler that forgets to run the check gets no caller from it."""
    check = world.services.identity.bearer_check("some-token")

    class _Request:
        def __init__(self) -> None:
            self.scope: dict[str, Any] = {"user": check}

    with pytest.raises(AuthenticationFailed):
        caller(_Request())  # type: ignore[arg-type]  # only its scope is read
    assert "some-token" not in repr(check)
    assert check.digest not in repr(check)
    assert isinstance(check, BearerCheck)


def test_remembered_owners_are_bounded() -> None:
    """The process remembers a bounded number of token owners, forgetting the oldest."""
    users = TokenUsers(limit=3)
    people = [
        AuthenticatedUser(uuid.uuid4(), f"u{i}", "counselor", "org", uuid.uuid4()) for i in range(5)
    ]
    for i, person in enumerate(people):
        users.remember(f"digest-{i}", person)
    assert len(users) == 3
    assert users.get("digest-0") is None
    assert users.get("digest-1") is None
    assert users.get("digest-4") == people[4]
    users.forget("digest-4")
    assert users.get("digest-4") is None
