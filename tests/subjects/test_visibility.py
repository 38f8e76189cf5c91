"""``vault.subjects.visibility``: who may know a subject exists; everyone else sees "missing"."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import pytest

from tests.subjects.conftest import Staff, new_subject
from vault.cursor_reads import Reads
from vault.services import Services
from vault.subjects.models import Subject
from vault.subjects.visibility import (
    HIDDEN_REASON,
    SubjectRef,
    SubjectVisibility,
    hidden_subject_event,
)
from vault.vocabulary import Category, ConsentGrant, EventAction, Principal


class Consents:
    """Active consents as the consent capability would answer them."""

    def __init__(self, *grants: ConsentGrant) -> None:
        self.grants = grants

    def active_consents(
        self, subject_id: uuid.UUID, now: datetime, session: Reads | None = None
    ) -> Sequence[ConsentGrant]:
        return [grant for grant in self.grants if grant.subject_id == subject_id]


@pytest.fixture
def subject_id(services: Services, staff: Staff) -> uuid.UUID:
    return services.subjects.register(staff.officer, new_subject())


def _consent(subject_id: uuid.UUID, purpose: str, *recipients: str) -> ConsentGrant:
    categories = frozenset({Category.FAMILY})
    return ConsentGrant(uuid.uuid4(), subject_id, purpose, categories, frozenset(recipients), None)


def _visible(
    services: Services,
    consents: Consents,
    principal: Principal,
    subject_id: uuid.UUID,
    purpose: str | None = None,
) -> SubjectRef | None:
    visibility = SubjectVisibility(consents=consents, clock=services.clock)
    with services.db.read_session() as reads:
        return visibility.visible_to(reads, principal, subject_id, purpose)


def test_holding_organisation_sees_its_subject(
    services: Services, staff: Staff, subject_id: uuid.UUID
) -> None:
    """Staff of the holding organisation may know the subject, whatever the purpose."""
    seen = _visible(services, Consents(), staff.counselor, subject_id, "counseling")
    assert seen is not None
    assert (seen.id, seen.organization) == (subject_id, "lapas-a")


def test_other_organisation_sees_nothing_without_a_consent(
    services: Services, staff: Staff, subject_id: uuid.UUID
) -> None:
    """Another organisation's staff get the same None as for a subject that does not exist."""
    assert _visible(services, Consents(), staff.other_officer, subject_id) is None
    assert _visible(services, Consents(), staff.other_officer, uuid.uuid4()) is None


def test_consent_naming_the_organisation_makes_the_subject_visible_for_its_purpose(
    services: Services, staff: Staff, subject_id: uuid.UUID
) -> None:
    """A recipient sees the subject for the consent's purpose (or none declared), not another."""
    consents = Consents(_consent(subject_id, "social_reintegration", "lapas-b"))
    assert _visible(services, consents, staff.other_officer, subject_id) is not None
    assert (
        _visible(services, consents, staff.other_officer, subject_id, "social_reintegration")
        is not None
    )
    assert _visible(services, consents, staff.other_officer, subject_id, "counseling") is None


def test_consent_naming_someone_else_gives_nothing(
    services: Services, staff: Staff, subject_id: uuid.UUID
) -> None:
    """A consent naming a third organisation does not reveal the subject to this one."""
    consents = Consents(_consent(subject_id, "social_reintegration", "sentra-c"))
    assert _visible(services, consents, staff.other_officer, subject_id) is None


def test_erased_subject_is_missing_even_to_its_holder(
    services: Services, staff: Staff, subject_id: uuid.UUID
) -> None:
    """After erasure nobody may know the subject, its own organisation included."""
    with services.db.session() as session:
        row = session.get(Subject, subject_id)
        assert row is not None
        row.erased_at = services.clock()
    assert _visible(services, Consents(), staff.officer, subject_id) is None


def test_hidden_lookup_event_says_why_in_general_terms(staff: Staff) -> None:
    """The refusal event is a denied lookup whose reason does not say which case it was."""
    subject_id = uuid.uuid4()
    event = hidden_subject_event(staff.other_officer, subject_id, "counseling")
    assert event.action == EventAction.SUBJECT_LOOKUP.value
    assert event.outcome == "deny"
    assert (event.subject_id, event.purpose, event.reason) == (
        subject_id,
        "counseling",
        HIDDEN_REASON,
    )
