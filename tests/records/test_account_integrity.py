"""A role or organisation changed in the database opens nothing: the account's
row no longer matches what was sealed to it, so its tokens and logins are refused."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from tests.records.story import ASSESSMENT
from tests.support import DEFAULT_PASSWORD
from tests.world import World


def _set(world: World, who: str, column: str, value: str) -> None:
    user_id = uuid.UUID(world.user_ids[who])
    with world.services.db.session() as session:
        session.execute(
            text(f"UPDATE users SET {column} = :value WHERE id = :id"),
            {"value": value, "id": user_id.hex if world.sqlite_path else user_id},
        )


@pytest.mark.parametrize(
    ("column", "value"), [("role", "health_officer"), ("organization", "bnn-sentra")]
)
def test_a_changed_account_is_refused_at_once(
    world: World, column: str, value: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A changed account is refused at once."""
    rid = world.create_record("counselor", "psychological_assessment", ASSESSMENT)
    assert world.read("counselor", rid, purpose="counseling").status_code == 200
    credentials = {"username": "counselor", "password": DEFAULT_PASSWORD}
    assert world.client.post("/v1/auth/login", json=credentials).status_code == 200
    if column == "organization":
        world.services.identity.create_organization("bnn-sentra", "Sentra", "kemensos")
    _set(world, "counselor", column, value)
    refused = world.read("counselor", rid, purpose="counseling")
    assert refused.status_code == 401
    assert ASSESSMENT["summary"] not in refused.text
    assert world.client.post("/v1/auth/login", json=credentials).status_code == 401
    assert "changed outside the vault" in caplog.text
    # Other accounts are unaffected.
    assert world.read("social_worker", rid, purpose="social_reintegration").status_code == 200


def test_an_account_row_copied_from_another_user_does_not_open(world: World) -> None:
    """The seal is bound to its row: another account's seal does not fit."""
    other = uuid.UUID(world.user_ids["health"])
    with world.services.db.session() as session:
        seal = session.execute(
            text("SELECT authz_seal FROM users WHERE id = :id"),
            {"id": other.hex if world.sqlite_path else other},
        ).scalar_one()
    _set(world, "counselor", "role", "health_officer")
    _set(world, "counselor", "authz_seal", seal)
    assert world.client.get("/v1/me", headers=world.auth("counselor")).status_code == 401
