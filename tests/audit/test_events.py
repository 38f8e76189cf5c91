"""``vault.audit.events``: an event is bounded where it is built, and filed under its actor."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest

from vault.audit.events import (
    DETAIL_MAX_INT,
    DETAIL_MAX_ITEMS,
    DETAIL_MAX_STR,
    REASON_MAX,
    AuditEvent,
    Outcome,
)
from vault.vocabulary import AuthenticatedUser, EventAction, Principal, Role

NURSE = Principal(uuid.UUID(int=3), Role.HEALTH_OFFICER, "lapas-a")


def test_event_by_a_principal_copies_id_role_and_organisation() -> None:
    """No caller can name one person and file the event under another role or place."""
    event = AuditEvent.by(NURSE, EventAction.RECORD_READ, Outcome.ALLOW, purpose="counseling")
    assert (event.actor_id, event.actor_role, event.actor_org) == (
        NURSE.id,
        "health_officer",
        "lapas-a",
    )
    assert event.action == EventAction.RECORD_READ.value
    assert event.purpose == "counseling"


def test_event_by_a_logged_in_user_reads_the_same_fields() -> None:
    """An authenticated user (token or session) is filed like its principal."""
    user = AuthenticatedUser(NURSE.id, "nurse.siti", "health_officer", "lapas-a", uuid.uuid4())
    by_user = AuditEvent.by(user, EventAction.RECORD_READ, Outcome.DENY)
    by_principal = AuditEvent.by(NURSE, EventAction.RECORD_READ, Outcome.DENY)
    assert by_user == by_principal


def test_event_of_the_host_has_no_actor() -> None:
    """The command line on the host acts as nobody in particular."""
    event = AuditEvent.by(None, EventAction.KEY_RETIRE, Outcome.ALLOW)
    assert event.actor_id is None
    assert event.actor_role is None
    assert event.actor_org is None


def test_break_glass_flag_follows_the_grant() -> None:
    """An event names a break-glass read exactly when it carries a grant id."""
    assert not AuditEvent(action="record.read", outcome=Outcome.ALLOW).break_glass
    assert AuditEvent(
        action="record.read", outcome=Outcome.ALLOW, break_glass_id=uuid.uuid4()
    ).break_glass


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"action": ""}, "1 to 64"),
        ({"action": "a" * 65}, "1 to 64"),
        ({"reason": "r" * (REASON_MAX + 1)}, "reason longer"),
        ({"time": datetime(2026, 1, 1)}, "timezone-aware"),
        ({"outcome": "maybe"}, "maybe"),
    ],
)
def test_malformed_event_is_refused_where_it_is_built(
    fields: dict[str, object], message: str
) -> None:
    """An empty or overlong action or reason, a naive time or an unknown outcome raises."""
    values: dict[str, object] = {"action": "record.read", "outcome": Outcome.ALLOW}
    with pytest.raises(ValueError, match=message):
        AuditEvent(**(values | fields))


@pytest.mark.parametrize(
    ("details", "message"),
    [
        ({f"k{i}": i for i in range(DETAIL_MAX_ITEMS + 1)}, "at most"),
        ({"Bad Key": 1}, "short lowercase identifiers"),
        ({"n": DETAIL_MAX_INT + 1}, "too large"),
        ({"s": "x" * (DETAIL_MAX_STR + 1)}, "longer than"),
        ({"blob": b"bytes"}, "not bytes"),
    ],
)
def test_details_are_small_plain_values(details: dict[str, object], message: str) -> None:
    """Details hold a few short keys of str, int, bool or None; anything else is refused."""
    with pytest.raises(ValueError, match=message):
        AuditEvent(action="record.read", outcome=Outcome.ALLOW, details=details)


def test_refused_detail_names_its_type_never_its_value() -> None:
    """A detail of the wrong type is refused without quoting it (it may be what must stay out)."""
    with pytest.raises(ValueError, match="not list") as refused:
        AuditEvent(action="record.read", outcome=Outcome.ALLOW, details={"pin": ["123456"]})
    assert "123456" not in str(refused.value)


def test_details_cannot_be_changed_after_the_event_is_built() -> None:
    """The event's details are read-only once checked."""
    event = AuditEvent(action="record.read", outcome=Outcome.ALLOW, details={"n": 1})
    with pytest.raises(TypeError):
        event.details["n"] = 2
