"""``vault.access.decision_facts``: only facts about this principal, subject and moment count."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from vault.access.decision_facts import DecisionFacts
from vault.vocabulary import (
    EMERGENCY_PURPOSE,
    Action,
    BreakGlassGrant,
    Category,
    ConsentGrant,
    DecisionContext,
    Principal,
    Resource,
    Role,
)

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
SUBJECT = uuid.UUID(int=1)
OTHER_SUBJECT = uuid.UUID(int=2)
NURSE = Principal(uuid.UUID(int=10), Role.HEALTH_OFFICER, "lapas-a")
OFFICER = Principal(uuid.UUID(int=11), Role.OFFICER, "lapas-a")
RECORD = Resource(kind="record", subject_id=SUBJECT, organization="lapas-a")


def _consent(
    *,
    subject: uuid.UUID = SUBJECT,
    purpose: str = "counseling",
    categories: frozenset[Category] = frozenset({Category.HEALTH_SENSITIVE}),
    recipients: frozenset[str] = frozenset({"lapas-a"}),
    expires_at: datetime | None = None,
    number: int = 100,
) -> ConsentGrant:
    return ConsentGrant(uuid.UUID(int=number), subject, purpose, categories, recipients, expires_at)


def _gather(
    principal: Principal = NURSE,
    *,
    purpose: str | None = "counseling",
    consents: tuple[ConsentGrant, ...] = (),
    grant: BreakGlassGrant | None = None,
    resource: Resource = RECORD,
    action: Action = Action.READ_RECORD,
) -> DecisionFacts:
    context = DecisionContext(purpose, True, consents, grant, NOW)
    return DecisionFacts.gather(principal, action, resource, context)


def test_expired_and_other_subjects_consents_are_dropped() -> None:
    """A consent past its expiry, or of another subject, is not a fact of this decision."""
    live = _consent(number=1)
    expired = _consent(number=2, expires_at=NOW - timedelta(seconds=1))
    elsewhere = _consent(number=3, subject=OTHER_SUBJECT)
    facts = _gather(consents=(live, expired, elsewhere))
    assert facts.consents == (live,)


def test_break_glass_counts_only_for_its_user_subject_and_the_emergency_purpose() -> None:
    """A grant of another user or subject, an expired one, or a non-emergency read is ignored."""
    grant = BreakGlassGrant(uuid.UUID(int=50), NURSE.id, SUBJECT, NOW + timedelta(hours=1))
    assert _gather(purpose=EMERGENCY_PURPOSE, grant=grant).grant == grant
    assert _gather(purpose="counseling", grant=grant).grant is None
    assert _gather(OFFICER, purpose=EMERGENCY_PURPOSE, grant=grant).grant is None
    other = BreakGlassGrant(grant.id, NURSE.id, OTHER_SUBJECT, grant.expires_at)
    assert _gather(purpose=EMERGENCY_PURPOSE, grant=other).grant is None
    spent = BreakGlassGrant(grant.id, NURSE.id, SUBJECT, NOW)
    assert _gather(purpose=EMERGENCY_PURPOSE, grant=spent).grant is None


def test_covering_consent_needs_purpose_category_and_recipient() -> None:
    """A consent covers a category only for its purpose and only for a named recipient."""
    consent = _consent()
    facts = _gather(consents=(consent,))
    assert facts.covering_consent(Category.HEALTH_SENSITIVE) == consent
    assert facts.covering_consent(Category.FAMILY) is None
    assert (
        _gather(purpose="research", consents=(consent,)).covering_consent(Category.HEALTH_SENSITIVE)
        is None
    )
    stranger = Principal(uuid.UUID(int=12), Role.HEALTH_OFFICER, "lapas-b")
    assert (
        _gather(stranger, consents=(consent,)).covering_consent(Category.HEALTH_SENSITIVE) is None
    )


def test_emergency_purpose_is_never_covered_by_a_consent() -> None:
    """Break-glass is its own basis: a consent for "emergency" releases nothing."""
    consent = _consent(purpose=EMERGENCY_PURPOSE)
    facts = _gather(purpose=EMERGENCY_PURPOSE, consents=(consent,))
    assert facts.covering_consent(Category.HEALTH_SENSITIVE) is None
    assert not facts.basis_holds("consent", Category.HEALTH_SENSITIVE)


def test_several_covering_consents_pick_the_same_one_every_time() -> None:
    """With two covering consents the one named in the audit event is stable (lowest id)."""
    first, second = _consent(number=7), _consent(number=3)
    assert _gather(consents=(first, second)).covering_consent(Category.HEALTH_SENSITIVE) == second
    assert _gather(consents=(second, first)).covering_consent(Category.HEALTH_SENSITIVE) == second


def test_statutory_identity_basis_is_an_officer_of_the_same_org_for_administration() -> None:
    """Only an officer of the subject's organisation, for administration, reads identity by law."""
    assert _gather(OFFICER, purpose="administration").basis_holds(
        "statutory_identity", Category.IDENTITY
    )
    assert not _gather(OFFICER, purpose="administration").basis_holds(
        "statutory_identity", Category.PSYCHOLOGICAL
    )
    assert not _gather(OFFICER, purpose="counseling").basis_holds(
        "statutory_identity", Category.IDENTITY
    )
    elsewhere = Resource(kind="record", subject_id=SUBJECT, organization="lapas-b")
    assert not _gather(OFFICER, purpose="administration", resource=elsewhere).basis_holds(
        "statutory_identity", Category.IDENTITY
    )
    assert not _gather(NURSE, purpose="administration").basis_holds(
        "statutory_identity", Category.IDENTITY
    )
    assert not _gather(OFFICER).basis_holds("a basis nobody knows", Category.IDENTITY)


def test_registration_without_an_organisation_means_the_callers_own() -> None:
    """Registering and searching are about the caller's own organisation when none is named."""
    bare = Resource(kind="subject")
    assert _gather(OFFICER, resource=bare, action=Action.REGISTER_SUBJECT).same_org
    assert _gather(OFFICER, resource=bare, action=Action.SEARCH_SUBJECT).same_org
    assert not _gather(OFFICER, resource=bare, action=Action.READ_RECORD).same_org


def test_contexts_carry_what_the_cedar_schema_expects() -> None:
    """The subject and category contexts state purpose, recipient, coverage and break-glass."""
    facts = _gather(consents=(_consent(),))
    assert facts.subject_context() == {
        "purpose": "counseling",
        "assigned": True,
        "break_glass": False,
        "same_org": True,
        "consent_recipient": True,
    }
    assert facts.category_context(Category.HEALTH_SENSITIVE)["consent_covers"] is True
    assert facts.category_context(Category.FAMILY)["consent_covers"] is False
