"""The workbench's per-day counts: kept from a cursor, equal to a full recount of the log,
right after more events arrive, and never counted twice by two looks at once."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from tests.web.conftest import ORG, OTHER_ORG, World
from vault.audit.events import AuditEvent, Outcome
from vault.identity.models import User
from vault.vocabulary import EventAction, Principal, Role
from vault.workbench.cli import count_all
from vault.workbench.day_count_models import DayCountCursorRow
from vault.workbench.day_counts import _store, counts_since, daily, recount, refresh, totals


def _principal(world: World, username: str) -> Principal:
    with world.services.db.read_session() as session:
        user = session.execute(select(User).where(User.username == username)).scalar_one()
        return Principal(user.id, Role(user.role), user.organization)


def _read(world: World, who: str, subject: uuid.UUID, purpose: str, outcome: Outcome) -> None:
    world.services.audit.append(
        AuditEvent.by(
            _principal(world, who),
            EventAction.RECORD_READ,
            outcome,
            subject_id=subject,
            purpose=purpose,
            categories=("psychological",),
        )
    )


def _glass(world: World, who: str, subject: uuid.UUID) -> None:
    world.services.audit.append(
        AuditEvent.by(
            _principal(world, who), EventAction.BREAK_GLASS_OPEN, Outcome.ALLOW, subject_id=subject
        )
    )


def _some_days(world: World, ours: uuid.UUID, theirs: uuid.UUID) -> None:
    """Reads, refusals, break-glass and other organisations' events over several days."""
    for day in range(3):
        _read(world, "counselor1", ours, "counseling", Outcome.ALLOW)
        _read(world, "health1", ours, "health_treatment", Outcome.DENY)
        if day == 1:
            _glass(world, "health1", ours)
        _read(world, "officer2", theirs, "legal_aid", Outcome.ALLOW)
        world.clock.advance(days=1, hours=3)


def test_the_counts_equal_a_full_recount_and_stay_right_as_events_arrive(world: World) -> None:
    """Counts kept from the cursor equal a recount of the log, before and after new events."""
    db = world.services.db
    ours = world.subject(pin=None)
    theirs = world.subject(organization=OTHER_ORG, pin=None)
    first = world.clock().date()
    _some_days(world, ours, theirs)
    kept = counts_since(db, ORG, first)
    assert kept == recount(db, ORG, first)
    assert kept[(first, "purpose", "counseling", "allow")] == 1
    assert sum(n for k, n in kept.items() if k[1] == "glass") == 1
    assert not any(k[2] == "legal_aid" for k in kept)
    _some_days(world, ours, theirs)
    _read(world, "counselor1", ours, "counseling", Outcome.ALLOW)
    again = counts_since(db, ORG, first)
    assert again == recount(db, ORG, first)
    purposes = sum(n for k, n in again.items() if k[1:] == ("purpose", "counseling", "allow"))
    assert purposes == 7
    summed = totals(db, ORG, first, world.clock().date())
    assert summed[("purpose", "counseling", "allow")] == purposes
    per_day = daily(db, ORG, "decision", first)
    assert sum(per_day.values()) == sum(n for k, n in again.items() if k[1] == "decision")
    assert sum(n for k, n in again.items() if k[1] == "glass") == 2


def test_a_look_reads_only_what_was_appended_since_the_cursor(world: World) -> None:
    """After a look, the next one reads only the new events of the organisation."""
    db = world.services.db
    ours = world.subject(pin=None)
    refresh(db, ORG)
    assert refresh(db, ORG) == 0
    _read(world, "counselor1", ours, "counseling", Outcome.ALLOW)
    _read(world, "health1", ours, "counseling", Outcome.DENY)
    assert refresh(db, ORG) == 2
    _read(world, "counselor1", ours, "counseling", Outcome.ALLOW)  # the same day's rows grow
    today = world.clock().date()
    assert counts_since(db, ORG, today) == recount(db, ORG, today)
    assert counts_since(db, ORG, today)[(today, "purpose", "counseling", "allow")] == 2


def test_a_second_look_storing_the_same_span_counts_nothing_twice(world: World) -> None:
    """A look that stores after another stored the same span finds the cursor moved."""
    db = world.services.db
    ours = world.subject(pin=None)
    refresh(db, ORG)
    with db.read_session() as session:
        cursor = session.get(DayCountCursorRow, ORG)
        assert cursor is not None
        after = cursor.last_seq
    _read(world, "counselor1", ours, "counseling", Outcome.ALLOW)
    day = world.clock().date()
    refresh(db, ORG)
    late = recount(db, ORG, day)
    _store(db, ORG, late, after, after + 1)  # the same span, stored a second time
    assert counts_since(db, ORG, day) == recount(db, ORG, day)


def test_the_host_command_counts_every_organisation_so_no_page_load_has_to(
    world: World,
) -> None:
    """``vault workbench counts`` brings each organisation's counts to the log's end."""
    ours = world.subject(pin=None)
    _read(world, "counselor1", ours, "counseling", Outcome.ALLOW)
    read = count_all(world.services.db)
    assert read[ORG] > 0
    assert set(read) >= {ORG, OTHER_ORG}
    assert refresh(world.services.db, ORG) == 0
    assert count_all(world.services.db)[ORG] == 0
