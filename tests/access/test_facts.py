"""``vault.access.facts``: an assignment or grant counts only as the audit log attests it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from vault.access.facts import AccessEvents
from vault.audit.canonical import format_time

USER = uuid.UUID(int=1)
OTHER = uuid.UUID(int=2)
ASSIGNMENT = uuid.UUID(int=10)
GRANT = uuid.UUID(int=20)
EXPIRES = datetime(2026, 3, 1, 13, 0, tzinfo=UTC)


def test_assignment_created_for_the_user_is_attested() -> None:
    """An assignment the log created for this user, and never ended, counts."""
    events = AccessEvents(assigned={str(ASSIGNMENT): str(USER)})
    assert events.assignment_problem(ASSIGNMENT, USER) is None


def test_assignment_row_for_another_user_or_unlogged_is_not() -> None:
    """A row naming another user than the log did, or no log entry at all, grants nothing."""
    events = AccessEvents(assigned={str(ASSIGNMENT): str(OTHER)})
    assert events.assignment_problem(ASSIGNMENT, USER) == "no assignment.create for this user"
    assert AccessEvents().assignment_problem(ASSIGNMENT, USER) == (
        "no assignment.create for this user"
    )


def test_assignment_ended_in_the_log_stays_ended() -> None:
    """An assignment revived in the table after the log ended it grants nothing."""
    events = AccessEvents(assigned={str(ASSIGNMENT): str(USER)}, ended={str(ASSIGNMENT)})
    assert events.assignment_problem(ASSIGNMENT, USER) == "the audit log says it ended"


def test_grant_opened_by_the_user_is_attested_and_may_end_early() -> None:
    """A grant the user opened counts until its logged expiry, or an earlier one."""
    events = AccessEvents(grants={str(GRANT): (str(USER), format_time(EXPIRES))})
    assert events.grant_problem(GRANT, USER, EXPIRES) is None
    assert events.grant_problem(GRANT, USER, EXPIRES - timedelta(hours=1)) is None


def test_grant_extended_in_the_table_is_refused() -> None:
    """Pushing a grant's expiry later than it was opened for makes it count for nothing."""
    events = AccessEvents(grants={str(GRANT): (str(USER), format_time(EXPIRES))})
    assert events.grant_problem(GRANT, USER, EXPIRES + timedelta(seconds=1)) == (
        "it expires later than it was opened for"
    )


def test_grant_of_another_user_or_unlogged_is_refused() -> None:
    """A grant row moved to another user, or never opened in the log, grants nothing."""
    events = AccessEvents(grants={str(GRANT): (str(OTHER), format_time(EXPIRES))})
    assert events.grant_problem(GRANT, USER, EXPIRES) == "no break_glass.open by this user"
    assert AccessEvents().grant_problem(GRANT, USER, EXPIRES) == "no break_glass.open by this user"
    unknown_expiry = AccessEvents(grants={str(GRANT): (str(USER), None)})
    assert unknown_expiry.grant_problem(GRANT, USER, EXPIRES) == (
        "it expires later than it was opened for"
    )
