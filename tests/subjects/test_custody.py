"""``vault.subjects.custody``: status by officers, legal hold by compliance, each of their own."""

from __future__ import annotations

import uuid

import pytest

from tests.subjects.conftest import Staff, new_subject
from tests.support import RecordingAudit
from vault.errors import Forbidden, InvalidInput, NotFound
from vault.services import Services
from vault.vocabulary import EventAction


@pytest.fixture
def subject_id(services: Services, staff: Staff) -> uuid.UUID:
    return services.subjects.register(staff.officer, new_subject())


def test_staff_of_the_organisation_view_status_and_hold(
    services: Services, staff: Staff, subject_id: uuid.UUID
) -> None:
    """A new subject is in custody, with no hold, in the officer's organisation."""
    seen = services.subjects.view(staff.counselor, subject_id)
    assert (seen.organization, seen.status, seen.legal_hold) == ("lapas-a", "in_custody", False)


def test_officer_changes_status_and_it_is_audited(
    services: Services, staff: Staff, subject_id: uuid.UUID, subject_events: RecordingAudit
) -> None:
    """The new status is stored, and the event names it."""
    changed = services.subjects.set_status(staff.officer, subject_id, "conditional_release")
    assert changed.status == "conditional_release"
    assert services.subjects.view(staff.officer, subject_id).status == "conditional_release"
    event = subject_events.events[-1]
    assert event.action == EventAction.SUBJECT_STATUS.value
    assert event.details == {"status": "conditional_release"}


def test_unknown_status_and_erased_are_refused(
    services: Services, staff: Staff, subject_id: uuid.UUID
) -> None:
    """Only the listed statuses may be set; erasure has its own route."""
    with pytest.raises(InvalidInput, match="must be one of"):
        services.subjects.set_status(staff.officer, subject_id, "escaped")
    with pytest.raises(InvalidInput, match="erasure goes through"):
        services.subjects.set_status(staff.officer, subject_id, "erased")
    assert services.subjects.view(staff.officer, subject_id).status == "in_custody"


def test_compliance_officer_sets_and_lifts_a_hold(
    services: Services, staff: Staff, subject_id: uuid.UUID
) -> None:
    """A legal hold is set and lifted by the organisation's compliance officer."""
    assert services.subjects.set_legal_hold(staff.compliance, subject_id, True).legal_hold
    assert services.subjects.view(staff.officer, subject_id).legal_hold
    assert not services.subjects.set_legal_hold(staff.compliance, subject_id, False).legal_hold


def test_wrong_role_is_forbidden_and_changes_nothing(
    services: Services, staff: Staff, subject_id: uuid.UUID
) -> None:
    """A counselor may not change status; an officer may not set a hold."""
    with pytest.raises(Forbidden):
        services.subjects.set_status(staff.counselor, subject_id, "released")
    with pytest.raises(Forbidden):
        services.subjects.set_legal_hold(staff.officer, subject_id, True)
    seen = services.subjects.view(staff.officer, subject_id)
    assert (seen.status, seen.legal_hold) == ("in_custody", False)


def test_another_organisation_is_answered_as_if_the_subject_did_not_exist(
    services: Services, staff: Staff, subject_id: uuid.UUID
) -> None:
    """Another organisation's officer gets "no such subject", exactly as for a random id."""
    with pytest.raises(NotFound) as theirs:
        services.subjects.set_status(staff.other_officer, subject_id, "released")
    with pytest.raises(NotFound) as missing:
        services.subjects.set_status(staff.other_officer, uuid.uuid4(), "released")
    assert str(theirs.value) == str(missing.value)
    with pytest.raises(NotFound):
        services.subjects.view(staff.other_compliance, subject_id)
