"""``vault.subjects.registration``: officers register into their own organisation; search
finds only their own; another organisation holding the person is audited, never revealed."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.subjects.conftest import Staff, new_subject
from tests.support import RecordingAudit
from vault.errors import Conflict, Forbidden, InvalidInput
from vault.services import Services
from vault.vocabulary import EventAction


def test_officer_registers_and_finds_by_either_identifier(services: Services, staff: Staff) -> None:
    """A registered subject is found by its NIK and by its register number, in its org."""
    new = new_subject()
    subject_id = services.subjects.register(staff.officer, new)
    assert services.subjects.find(staff.officer, nik=new.nik, register_number=None) == [subject_id]
    assert services.subjects.find(
        staff.counselor, nik=None, register_number=new.register_number
    ) == [subject_id]


def test_search_never_finds_another_organisations_subject(services: Services, staff: Staff) -> None:
    """The same NIK searched from another organisation finds nothing."""
    new = new_subject()
    services.subjects.register(staff.officer, new)
    assert services.subjects.find(staff.other_officer, nik=new.nik, register_number=None) == []


def test_search_takes_exactly_one_identifier(services: Services, staff: Staff) -> None:
    """Both or neither identifier is a malformed search."""
    with pytest.raises(InvalidInput, match="exactly one"):
        services.subjects.find(staff.officer, nik="1", register_number="2")
    with pytest.raises(InvalidInput, match="exactly one"):
        services.subjects.find(staff.officer, nik=None, register_number=None)


def test_same_person_twice_in_one_organisation_is_a_conflict(
    services: Services, staff: Staff, subject_events: RecordingAudit
) -> None:
    """A second registration with the same NIK in the same organisation is refused, audited."""
    first = new_subject()
    services.subjects.register(staff.officer, first)
    with pytest.raises(Conflict):
        services.subjects.register(staff.officer, new_subject(nik=first.nik))
    assert subject_events.events[-1].reason == "already registered in this organisation"


def test_person_held_elsewhere_is_registered_and_the_overlap_audited_for_both(
    services: Services, staff: Staff, subject_events: RecordingAudit
) -> None:
    """No refusal that would reveal the other holder; both organisations' logs note it."""
    held = new_subject("lapas-b")
    theirs = services.subjects.register(staff.other_officer, held)
    ours = services.subjects.register(staff.officer, new_subject(nik=held.nik))
    assert ours != theirs
    registered, noted = subject_events.events[-2:]
    assert registered.subject_id == ours
    assert registered.details["nik_held_elsewhere"] is True
    assert registered.details["register_number_held_elsewhere"] is False
    assert noted.subject_id == theirs
    assert noted.details == {
        "registered_elsewhere": True,
        "nik_matches": True,
        "register_number_matches": False,
    }


def test_only_officers_of_the_organisation_register(services: Services, staff: Staff) -> None:
    """A counselor, or an officer registering into another organisation, is refused."""
    with pytest.raises(Forbidden):
        services.subjects.register(staff.counselor, new_subject())
    with pytest.raises(Forbidden):
        services.subjects.register(staff.officer, new_subject("lapas-b"))


def test_date_of_birth_must_be_plausible(services: Services, staff: Staff) -> None:
    """A birth before 1900 or after today is refused before anything is written."""
    today = services.clock().date()
    with pytest.raises(InvalidInput, match="date_of_birth"):
        services.subjects.register(staff.officer, new_subject(born=date(1899, 12, 31)))
    with pytest.raises(InvalidInput, match="date_of_birth"):
        services.subjects.register(staff.officer, new_subject(born=today + timedelta(days=1)))


def test_search_is_audited_with_the_count_not_the_identifier(
    services: Services, staff: Staff, subject_events: RecordingAudit
) -> None:
    """The search event says by what and how many, never the NIK searched."""
    new = new_subject()
    services.subjects.register(staff.officer, new)
    services.subjects.find(staff.officer, nik=new.nik, register_number=None)
    event = subject_events.events[-1]
    assert event.action == EventAction.SUBJECT_SEARCH.value
    assert event.details == {"by": "nik", "found": 1}
    assert new.nik not in repr(event)


def test_new_subject_repr_carries_no_identifier() -> None:
    """A registration request logged by accident shows only its organisation."""
    new = new_subject()
    assert new.nik not in repr(new)
    assert "Budi" not in repr(new)
