"""``vault.subjects.gate``: one gate per operation on a subject; "forbidden" only to those who
may know the subject exists, "no such subject" to everyone else; both audited."""

from __future__ import annotations

import uuid

import pytest

from tests.subjects.conftest import Staff, new_subject
from tests.support import RecordingAudit
from vault.errors import Forbidden, NotFound
from vault.services import Services
from vault.subjects.visibility import HIDDEN_REASON, SubjectRef
from vault.vocabulary import Action, EventAction, Principal


@pytest.fixture
def subject_id(services: Services, staff: Staff) -> uuid.UUID:
    return services.subjects.register(staff.officer, new_subject())


def _gate(
    services: Services, principal: Principal, action: Action, subject_id: uuid.UUID
) -> SubjectRef:
    with services.db.read_session() as reads:
        return services.subjects.gate(reads, principal, action, subject_id)


def test_allowed_operation_returns_the_subject(
    services: Services, staff: Staff, subject_id: uuid.UUID
) -> None:
    """An officer of the holding organisation passes the status gate."""
    subject = _gate(services, staff.officer, Action.SET_SUBJECT_STATUS, subject_id)
    assert subject.id == subject_id


def test_same_organisation_refused_is_forbidden_with_the_policy_reason(
    services: Services, staff: Staff, subject_id: uuid.UUID, subject_events: RecordingAudit
) -> None:
    """Who may know the subject hears why they are refused, and the refusal is audited."""
    with pytest.raises(Forbidden, match="Not allowed"):
        _gate(services, staff.counselor, Action.SET_SUBJECT_STATUS, subject_id)
    event = subject_events.events[-1]
    assert event.action == EventAction.SUBJECT_STATUS.value
    assert event.outcome == "deny"
    assert event.subject_id == subject_id


def test_other_organisation_refused_is_told_no_such_subject(
    services: Services, staff: Staff, subject_id: uuid.UUID, subject_events: RecordingAudit
) -> None:
    """Outside the holding organisation a refusal is indistinguishable from a missing id."""
    with pytest.raises(NotFound, match="No such subject"):
        _gate(services, staff.other_officer, Action.VIEW_SUBJECT, subject_id)
    assert subject_events.events[-1].reason == HIDDEN_REASON
    with pytest.raises(NotFound, match="No such subject"):
        _gate(services, staff.officer, Action.VIEW_SUBJECT, uuid.uuid4())
    assert subject_events.events[-1].reason == HIDDEN_REASON


def test_two_person_rule_is_a_fact_the_policy_decides(
    services: Services, staff: Staff, subject_id: uuid.UUID
) -> None:
    """An admin erasing on their own approval is refused by the two-person policy."""
    with services.db.read_session() as reads:
        services.subjects.gate(reads, staff.admin, Action.ERASE_SUBJECT, subject_id)
        with pytest.raises(Forbidden, match="two different people"):
            services.subjects.gate(
                reads, staff.admin, Action.ERASE_SUBJECT, subject_id, on_self=True
            )
