"""``vault.records.service``: writing, correcting and listing records, each decided first."""

from __future__ import annotations

import uuid

import pytest

from tests.world import ORG, World
from vault.errors import Forbidden, InvalidInput, NotFound
from vault.vocabulary import Principal, Role

ASSESSMENT = {"instrument": "PHQ-9", "summary": "sleeps badly", "risk_level": "moderate"}


def _staff(world: World, who: str, role: Role) -> Principal:
    return Principal(uuid.UUID(world.user_ids[who]), role, ORG)


def _subject(world: World) -> uuid.UUID:
    return uuid.UUID(world.subject_id)


def test_new_record_is_version_one_of_its_own_lineage(world: World) -> None:
    """A record written by an assigned counselor is current, version 1, its own lineage."""
    counselor = _staff(world, "counselor", Role.COUNSELOR)
    meta = world.services.records.create_record(
        counselor, _subject(world), "psychological_assessment", ASSESSMENT
    )
    assert (meta.version, meta.current, meta.lineage_id, meta.supersedes_id) == (
        1,
        True,
        meta.id,
        None,
    )
    listed = world.services.records.list_records(counselor, _subject(world), "counseling")
    assert meta.id in [m.id for m in listed]


def test_correction_supersedes_and_keeps_the_lineage(world: World) -> None:
    """A correction is version 2 of the same lineage; version 1 stays, no longer current."""
    counselor = _staff(world, "counselor", Role.COUNSELOR)
    records = world.services.records
    first = records.create_record(
        counselor, _subject(world), "psychological_assessment", ASSESSMENT
    )
    second = records.correct_record(counselor, _subject(world), first.id, {"risk_level": "low"})
    assert (second.version, second.lineage_id, second.supersedes_id) == (2, first.id, first.id)
    listed = {m.id: m for m in records.list_records(counselor, _subject(world), "counseling")}
    assert listed[first.id].current is False
    assert listed[second.id].current is True
    with pytest.raises(NotFound, match="No current record"):
        records.correct_record(counselor, _subject(world), first.id, {"risk_level": "high"})


def test_record_of_another_subject_cannot_be_corrected_through_this_one(world: World) -> None:
    """A record id that is not this subject's is "no current record", whatever it is."""
    counselor = _staff(world, "counselor", Role.COUNSELOR)
    with pytest.raises(NotFound, match="No current record"):
        world.services.records.correct_record(
            counselor, _subject(world), uuid.uuid4(), {"risk_level": "low"}
        )


def test_identity_record_is_written_only_by_registration(world: World) -> None:
    """Even an officer may not write an identity record through the records service."""
    officer = _staff(world, "officer", Role.OFFICER)
    with pytest.raises(InvalidInput, match="written by subject registration"):
        world.services.records.create_record(
            officer, _subject(world), "identity", {"full_name": "Someone Else"}
        )


def test_role_may_not_write_a_category_it_does_not_hold(world: World) -> None:
    """A counselor writing family data is refused, naming the category."""
    counselor = _staff(world, "counselor", Role.COUNSELOR)
    with pytest.raises(Forbidden, match="family"):
        world.services.records.create_record(
            counselor, _subject(world), "family_data", {"contact_person": "Ibu Sari"}
        )


def test_unassigned_counselor_may_not_write(world: World) -> None:
    """Same organisation and role, but outside the care team: refused."""
    stranger = _staff(world, "counselor2", Role.COUNSELOR)
    with pytest.raises(Forbidden):
        world.services.records.create_record(
            stranger, _subject(world), "psychological_assessment", ASSESSMENT
        )


def test_other_organisation_lists_nothing_and_learns_nothing(world: World) -> None:
    """Staff elsewhere are told the subject does not exist."""
    world.join("counselor-b", "counselor", "lapas-other")
    outsider = Principal(uuid.UUID(world.user_ids["counselor-b"]), Role.COUNSELOR, "lapas-other")
    with pytest.raises(NotFound, match="No such subject"):
        world.services.records.list_records(outsider, _subject(world), "counseling")
    with pytest.raises(NotFound, match="No such subject"):
        world.services.records.list_records(outsider, uuid.uuid4(), "counseling")
