"""Statements sent ahead (one round trip on PostgreSQL) read exactly the rows they read
when asked one by one, a read that needs more still runs it, and the token check that
sends the account events ahead still refuses a disabled account at once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from tests.world import World
from vault.access.facts import _ASSIGNED
from vault.consent.grants import grants_ahead
from vault.identity.models import User
from vault.identity.service import _TOKEN_LOOKUP
from vault.identity.tokens import token_digest
from vault.records.rows import RECORD_READ


def test_statements_sent_ahead_read_the_same_rows_as_asked_one_by_one(world: World) -> None:
    """The token, record, consent and assignment rows sent ahead equal those asked alone,
    and a statement not sent ahead is still answered in the same read."""
    record_id = uuid.UUID(
        world.create_record("counselor", "progress_note", {"note": "Slept well this week."})
    )
    subject = uuid.UUID(world.subject_id)
    counselor = uuid.UUID(world.user_ids["counselor"])
    bearer = world.auth("counselor")["Authorization"].removeprefix("Bearer ")
    queries: list[tuple[Any, dict[str, Any]]] = [
        (_TOKEN_LOOKUP, {"digest": token_digest(bearer)}),
        (RECORD_READ, {"subject_id": subject, "record_id": record_id}),
        grants_ahead(subject, datetime.now(UTC)),
        (_ASSIGNED, {"user_id": counselor, "subject_id": subject}),
    ]
    db = world.services.db
    with db.read_cursor() as reads:
        expected = [[tuple(row) for row in reads.execute(*query).all()] for query in queries]
    assert all(expected)
    for one_statement in (False, True):
        with db.read_cursor(one_statement=one_statement, ahead=queries[1:]) as reads:
            got = [[tuple(row) for row in reads.execute(*query).all()] for query in queries]
        assert got == expected


def test_a_read_that_needs_more_than_was_sent_is_decided_the_ordinary_way(world: World) -> None:
    """A read of a subject that does not exist (a decoy check not sent ahead) is still a
    404 with its refusal recorded, and the next read is answered as before."""
    record_id = world.create_record("counselor", "progress_note", {"note": "Calm."})
    missing = world.client.get(
        f"/v1/subjects/{uuid.uuid4()}/records/{record_id}",
        params={"purpose": "counseling"},
        headers=world.auth("counselor"),
    )
    assert missing.status_code == 404
    answered = world.read("counselor", record_id, "counseling")
    assert answered.status_code == 200, answered.text
    assert answered.json()["fields"]["note"] == "Calm."


def test_a_disabled_account_copied_back_to_its_earlier_row_is_refused_at_once(
    world: World,
) -> None:
    """Disabling takes effect on the very next request, even when the whole earlier row
    (with its genuine seal) is copied back: the audit log's epoch refuses it."""
    world.join("victim", "counselor", "rutan-jakpus")
    headers = world.auth("victim")
    assert world.client.get("/v1/me", headers=headers).status_code == 200
    user_id = uuid.UUID(world.user_ids["victim"])
    columns = [c for c in User.__table__.c if c.key != "id"]  # type: ignore[attr-defined]  # SQLModel sets it
    with world.services.db.read_session() as session:
        before = session.execute(select(*columns).where(User.id == user_id)).one()
    disabled = world.client.post(f"/v1/users/{user_id}/disable", headers=world.auth("admin"))
    assert disabled.status_code == 200, disabled.text
    assert world.client.get("/v1/me", headers=headers).status_code == 401
    with world.services.db.session() as session:
        restore = dict(zip([c.key for c in columns], before, strict=True))
        session.execute(update(User).where(User.id == user_id).values(**restore))
    assert world.client.get("/v1/me", headers=headers).status_code == 401
