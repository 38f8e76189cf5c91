"""Assignments and break-glass grants written behind the vault's back open nothing:
each must be attested by the audit event that created it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import event, text
from sqlalchemy.orm import Session

from tests.records.story import ASSESSMENT
from tests.statistics.statistics_support import subject as register_assigned
from tests.world import World
from vault.access.integrity import check_access_against_audit
from vault.audit.scope import subject_org

JUSTIFICATION = "Subject expressed suicidal intent in the cell block tonight."


def stored(world: World, value: str | uuid.UUID) -> object:
    return uuid.UUID(str(value)).hex if world.sqlite_path else uuid.UUID(str(value))


def forge_assignment(
    world: World, session: Session, row_id: uuid.UUID, who: str, now: datetime
) -> None:
    """An assignment of ``who`` to the world's subject, inserted behind the vault's back."""
    session.execute(
        text(
            "INSERT INTO assignments (id, created_at, updated_at, user_id, subject_id, "
            "assigned_by) VALUES (:id, :now, :now, :u, :s, :by)"
        ),
        {
            "id": stored(world, row_id),
            "now": now,
            "u": stored(world, world.user_ids[who]),
            "s": stored(world, world.subject_id),
            "by": stored(world, world.user_ids["admin"]),
        },
    )


def test_an_assignment_inserted_in_the_database_grants_nothing(world: World) -> None:
    """An assignment inserted in the database grants nothing."""
    rid = world.create_record("counselor", "psychological_assessment", ASSESSMENT)
    assert world.read("counselor2", rid, purpose="counseling").status_code == 404
    now = datetime.now(UTC)
    forged = uuid.uuid4()
    with world.services.db.session() as session:
        forge_assignment(world, session, forged, "counselor2", now)
    refused = world.read("counselor2", rid, purpose="counseling")
    assert refused.status_code == 404
    assert ASSESSMENT["summary"] not in refused.text
    # Compliance officers see it listed, with its subject.
    checked = world.client.get("/v1/audit/access-check", headers=world.auth("compliance"))
    assert checked.status_code == 200
    assert checked.json() == {
        "ok": False,
        "mismatches": [
            {
                "kind": "assignment",
                "id": str(forged),
                "subject_id": world.subject_id,
                "problem": "no assignment.create for this user",
            }
        ],
    }
    # Scoped to the organisation holding the subject (the dashboard's check), and to no other.
    holder = subject_org(world.services.db, uuid.UUID(str(world.subject_id)))
    assert holder is not None
    scoped = check_access_against_audit(world.services.db, now, held_by=holder)
    assert [m.row_id for m in scoped] == [forged]
    assert check_access_against_audit(world.services.db, now, held_by="lapas-elsewhere") == []
    assert (
        world.client.get("/v1/audit/access-check", headers=world.auth("counselor")).status_code
        == 403
    )
    # The forged row blocks a second assignment (409) until it is ended through the
    # vault (which audits that); assigned through the vault, the read is answered.
    ended = world.client.delete(f"/v1/assignments/{forged}", headers=world.auth("admin"))
    assert ended.status_code in (200, 204), ended.text
    world.post(
        "admin",
        "/v1/assignments",
        {"user_id": world.user_ids["counselor2"], "subject_id": world.subject_id},
    )
    assert world.read("counselor2", rid, purpose="counseling").json()["fields"] == ASSESSMENT
    checked = world.client.get("/v1/audit/access-check", headers=world.auth("compliance"))
    assert checked.json() == {"ok": True, "mismatches": []}


def test_an_ended_assignment_revived_in_the_database_stays_ended(world: World) -> None:
    """An ended assignment revived in the database stays ended."""
    rid = world.create_record("counselor", "psychological_assessment", ASSESSMENT)
    ended = world.client.delete(
        f"/v1/assignments/{world.assignment_ids['counselor']}", headers=world.auth("admin")
    )
    assert ended.status_code in (200, 204), ended.text
    with world.services.db.session() as session:
        session.execute(
            text("UPDATE assignments SET ended_at = NULL, ended_by = NULL WHERE id = :id"),
            {"id": stored(world, world.assignment_ids["counselor"])},
        )
    assert world.read("counselor", rid, purpose="counseling").status_code == 404


def test_a_break_glass_grant_forged_or_extended_in_the_database_grants_nothing(
    world: World,
) -> None:
    """A break glass grant forged or extended in the database grants nothing."""
    rid = world.create_record("counselor", "psychological_assessment", ASSESSMENT)
    world.client.post(
        f"/v1/consents/{world.consent_id}/withdraw", json={}, headers=world.auth("officer")
    )
    now = datetime.now(UTC)
    with world.services.db.session() as session:
        session.execute(
            text(
                "INSERT INTO break_glass_grants (id, created_at, updated_at, user_id, subject_id, "
                "justification, expires_at) VALUES (:id, :now, :now, :u, :s, 'x', :later)"
            ),
            {
                "id": stored(world, uuid.uuid4()),
                "now": now,
                "later": now + timedelta(hours=1),
                "u": stored(world, world.user_ids["counselor"]),
                "s": stored(world, world.subject_id),
            },
        )
    forged = world.read("counselor", rid, purpose="emergency")
    assert forged.json()["fields"] == {}
    # Opened through the vault it works; pushed back in the database it stops working.
    opened = world.client.post(
        f"/v1/subjects/{world.subject_id}/break-glass",
        json={"justification": JUSTIFICATION},
        headers=world.auth("counselor"),
    )
    assert opened.status_code == 201, opened.text
    assert world.read("counselor", rid, purpose="emergency").json()["fields"] == ASSESSMENT
    with world.services.db.session() as session:
        session.execute(
            text("UPDATE break_glass_grants SET expires_at = :later WHERE id = :id"),
            {"later": now + timedelta(days=30), "id": stored(world, opened.json()["id"])},
        )
        session.execute(text("DELETE FROM break_glass_grants WHERE justification = 'x'"))
    assert world.read("counselor", rid, purpose="emergency").json()["fields"] == {}


def _statements_of(world: World, work: Callable[[], object]) -> int:
    """How many statements ``work`` sends to the store."""
    sent: list[str] = []

    def count(*args: object) -> None:
        sent.append(str(args[2]))

    engine = world.services.db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        work()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(sent)


def test_a_later_check_reads_only_what_was_appended_whatever_the_caseload(world: World) -> None:
    """After the first check, one costs the same few statements for one subject as for four."""
    db = world.services.db
    rid = world.create_record("counselor", "psychological_assessment", ASSESSMENT)

    check_access_against_audit(db, datetime.now(UTC))
    world.read("counselor", rid, purpose="counseling")
    one = _statements_of(world, lambda: check_access_against_audit(db, datetime.now(UTC)))
    for number in range(3):
        register_assigned(world, number)
    first = _statements_of(world, lambda: check_access_against_audit(db, datetime.now(UTC)))
    world.read("counselor", rid, purpose="counseling")
    four = _statements_of(world, lambda: check_access_against_audit(db, datetime.now(UTC)))
    assert first > one  # the three new subjects' events are read once
    assert four == one
    assert check_access_against_audit(db, datetime.now(UTC)) == []


def test_rows_changed_after_a_check_are_reported_by_the_next(world: World) -> None:
    """Rows forged, revived or extended after a check are all in the next one."""
    db = world.services.db
    opened = world.client.post(
        f"/v1/subjects/{world.subject_id}/break-glass",
        json={"justification": JUSTIFICATION},
        headers=world.auth("counselor2"),
    )
    assert opened.status_code == 201, opened.text
    ended = world.client.delete(
        f"/v1/assignments/{world.assignment_ids['counselor']}", headers=world.auth("admin")
    )
    assert ended.status_code in (200, 204), ended.text
    assert check_access_against_audit(db, datetime.now(UTC)) == []
    now = datetime.now(UTC)
    forged = uuid.uuid4()
    with db.session() as session:
        forge_assignment(world, session, forged, "social_worker", now)
        session.execute(
            text("UPDATE assignments SET ended_at = NULL, ended_by = NULL WHERE id = :id"),
            {"id": stored(world, world.assignment_ids["counselor"])},
        )
        session.execute(
            text("UPDATE break_glass_grants SET expires_at = :later WHERE id = :id"),
            {"later": now + timedelta(days=30), "id": stored(world, opened.json()["id"])},
        )
    found = {(m.row_id, m.problem) for m in check_access_against_audit(db, now)}
    assert found == {
        (forged, "no assignment.create for this user"),
        (uuid.UUID(world.assignment_ids["counselor"]), "the audit log says it ended"),
        (uuid.UUID(opened.json()["id"]), "it expires later than it was opened for"),
    }


def test_a_log_rewound_after_a_check_is_read_again(world: World) -> None:
    """A log cut back below what a check saw (a restored backup, say) is read afresh."""
    db = world.services.db
    with db.read_session() as session:
        before = int(session.execute(text("SELECT max(seq) FROM audit_events")).scalar_one())
    made = world.post(
        "admin",
        "/v1/assignments",
        {"user_id": world.user_ids["counselor2"], "subject_id": world.subject_id},
    )
    assert check_access_against_audit(db, datetime.now(UTC)) == []
    with db.session() as session:
        session.execute(text("DELETE FROM audit_events WHERE seq > :seq"), {"seq": before})
    found = check_access_against_audit(db, datetime.now(UTC))
    assert [(m.row_id, m.problem) for m in found] == [
        (uuid.UUID(made["id"]), "no assignment.create for this user")
    ]
