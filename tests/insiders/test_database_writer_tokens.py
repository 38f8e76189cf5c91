"""The database writer of THREATS.md against the record read's token check, which runs
inside the read and starts from whom the process last saw a token for: a token row moved
to the assigned counselor's account, or revived after logout, still opens nothing."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update
from sqlmodel import col

from tests.records.story import ASSESSMENT, audit_events
from tests.world import World
from vault.identity.models import AuthToken
from vault.identity.tokens import token_digest


def _digest(world: World, who: str) -> str:
    return token_digest(world.auth(who)["Authorization"].removeprefix("Bearer "))


def _write_token(world: World, who: str, **values: Any) -> None:
    with world.services.db.session() as session:
        session.execute(
            update(AuthToken)
            .where(col(AuthToken.token_hash) == _digest(world, who))
            .values(**values)
        )


def test_a_token_moved_to_an_assigned_colleague_reads_nothing(world: World) -> None:
    """An unassigned counselor's token, known to the process from an earlier read, moved in
    the database onto the assigned counselor's account: the read is refused (401), no field
    leaves, and no read is recorded in either counselor's name."""
    rid = world.create_record("counselor", "psychological_assessment", ASSESSMENT)
    assert world.read("counselor2", rid, "counseling").status_code == 404  # now remembered
    before = len(audit_events(world, subject_id=world.subject_id, action="record.read"))
    _write_token(world, "counselor2", user_id=uuid.UUID(world.user_ids["counselor"]))
    moved = world.read("counselor2", rid, "counseling")
    assert moved.status_code == 401
    assert "CANARY" not in moved.text
    assert len(audit_events(world, subject_id=world.subject_id, action="record.read")) == before


def test_a_logged_out_token_revived_in_the_database_reads_nothing(world: World) -> None:
    """Logout, then the token's row copied back as it was: the process had the token in
    mind, and the read still refuses it (the logout is in the audit log)."""
    rid = world.create_record("counselor", "psychological_assessment", ASSESSMENT)
    assert world.read("counselor", rid, "counseling").status_code == 200
    with world.services.db.read_session() as session:
        row = dict(
            session.execute(
                select(AuthToken.__table__).where(
                    col(AuthToken.token_hash) == _digest(world, "counselor")
                )
            )
            .mappings()
            .one()
        )
    assert world.client.post("/v1/auth/logout", headers=world.auth("counselor")).status_code == 204
    _write_token(world, "counselor", **row)
    revived = world.read("counselor", rid, "counseling")
    assert revived.status_code == 401
    assert "CANARY" not in revived.text
