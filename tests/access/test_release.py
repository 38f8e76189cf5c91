"""``vault.access.release``: a category is decrypted only on a basis the engine can check."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vault.access.cedar import CedarPolicies, Verdict, principal_entities
from vault.access.decision_facts import DecisionFacts
from vault.access.policies import load_policies
from vault.access.release import basis_of, release, write_decision
from vault.vocabulary import (
    EMERGENCY_PURPOSE,
    Action,
    BreakGlassGrant,
    Category,
    ConsentGrant,
    Decision,
    DecisionContext,
    Principal,
    Resource,
    Role,
)

POLICIES = Path(__file__).resolve().parents[2] / "policies"
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
SUBJECT = uuid.UUID(int=1)
NURSE = Principal(uuid.UUID(int=10), Role.HEALTH_OFFICER, "lapas-a")
ADMIN = Principal(uuid.UUID(int=11), Role.ADMIN, "lapas-a")
CONSENT = ConsentGrant(
    uuid.UUID(int=99),
    SUBJECT,
    "counseling",
    frozenset({Category.HEALTH_SENSITIVE, Category.PROGRAM}),
    frozenset({"lapas-a"}),
    None,
)


@pytest.fixture(scope="module")
def cedar() -> CedarPolicies:
    return CedarPolicies(load_policies(POLICIES))


def _read(
    cedar: CedarPolicies,
    principal: Principal,
    categories: set[Category],
    *,
    purpose: str = "counseling",
    consents: tuple[ConsentGrant, ...] = (CONSENT,),
    grant: BreakGlassGrant | None = None,
) -> Decision:
    resource = Resource(
        kind="record",
        subject_id=SUBJECT,
        organization="lapas-a",
        categories=frozenset(categories),
    )
    context = DecisionContext(purpose, True, consents, grant, NOW)
    facts = DecisionFacts.gather(principal, Action.READ_RECORD, resource, context)
    return release(
        cedar,
        cedar.matrix("category.read"),
        principal,
        resource,
        facts,
        ("records.care-team",),
        principal_entities(principal.id, principal.role),
    )


def test_consent_releases_what_it_covers_and_withholds_the_rest(cedar: CedarPolicies) -> None:
    """The consented category is decrypted; another the role may read is withheld, with why."""
    decision = _read(cedar, NURSE, {Category.HEALTH_SENSITIVE, Category.PSYCHOLOGICAL})
    assert decision.allowed
    assert decision.categories == {Category.HEALTH_SENSITIVE}
    assert decision.consent_id == CONSENT.consent_id
    assert decision.withheld == {
        Category.PSYCHOLOGICAL: "role health_officer may not read category psychological"
    }
    assert "release.consent" in decision.policy_ids
    assert "records.care-team" in decision.policy_ids


def test_no_covering_consent_releases_nothing(cedar: CedarPolicies) -> None:
    """Without a consent for the purpose, the read is refused and each category says why."""
    decision = _read(cedar, NURSE, {Category.HEALTH_SENSITIVE}, purpose="research")
    assert not decision.allowed
    assert decision.categories == frozenset()
    assert decision.withheld[Category.HEALTH_SENSITIVE] == (
        "no active consent for purpose research covering category health_sensitive"
    )
    assert decision.reason.startswith("no category may be released")


def test_emergency_without_a_grant_names_the_missing_grant(cedar: CedarPolicies) -> None:
    """An emergency read with no active break-glass grant is refused for that reason."""
    decision = _read(cedar, NURSE, {Category.HEALTH_SENSITIVE}, purpose=EMERGENCY_PURPOSE)
    assert not decision.allowed
    assert decision.withheld[Category.HEALTH_SENSITIVE] == (
        "no active break-glass grant covering category health_sensitive"
    )


def test_break_glass_releases_and_names_the_grant(cedar: CedarPolicies) -> None:
    """An active grant of this user and subject releases the category and is named."""
    grant = BreakGlassGrant(uuid.UUID(int=77), NURSE.id, SUBJECT, NOW + timedelta(hours=1))
    decision = _read(
        cedar, NURSE, {Category.HEALTH_SENSITIVE}, purpose=EMERGENCY_PURPOSE, grant=grant
    )
    assert decision.allowed
    assert decision.categories == {Category.HEALTH_SENSITIVE}
    assert decision.break_glass_id == grant.id
    assert decision.consent_id is None


def test_admin_gets_no_content_even_with_a_consent_naming_the_organisation(
    cedar: CedarPolicies,
) -> None:
    """Separation of duties: an administrator is refused every category."""
    decision = _read(cedar, ADMIN, {Category.PROGRAM})
    assert not decision.allowed
    assert decision.withheld[Category.PROGRAM].startswith("role admin may not read")


def test_listing_without_categories_is_decided_by_the_subject_rules(cedar: CedarPolicies) -> None:
    """Metadata only: no category to release, the subject-level policy ids stand."""
    decision = _read(cedar, NURSE, set())
    assert decision.allowed
    assert decision.policy_ids == ("records.care-team",)


def test_permit_whose_basis_does_not_hold_is_no_basis(cedar: CedarPolicies) -> None:
    """A permit naming a basis the facts do not support releases nothing."""
    resource = Resource(kind="record", subject_id=SUBJECT, organization="lapas-a")
    facts = DecisionFacts.gather(
        NURSE, Action.READ_RECORD, resource, DecisionContext("counseling", True, (), None, NOW)
    )
    consent_permit = next(
        s.parser_id for s in cedar.policies.sources.values() if s.policy_id == "release.consent"
    )
    verdict = Verdict(allowed=True, parser_ids=(consent_permit,), errors=())
    assert basis_of(cedar, verdict, facts, Category.HEALTH_SENSITIVE) is None


def test_write_needs_every_category_of_the_record(cedar: CedarPolicies) -> None:
    """A record mixing a writable and a forbidden category is refused as a whole."""
    matrix = cedar.matrix("category.write")
    mixed = Resource(
        kind="record",
        subject_id=SUBJECT,
        categories=frozenset({Category.HEALTH_SENSITIVE, Category.FAMILY}),
    )
    refused = write_decision(matrix, NURSE, mixed, ())
    assert not refused.allowed
    assert refused.reason == "role health_officer may not write category family"
    ours = Resource(kind="record", subject_id=SUBJECT, categories=frozenset({Category.PROGRAM}))
    allowed = write_decision(matrix, NURSE, ours, ("records.care-team",))
    assert allowed.allowed
    assert allowed.categories == {Category.PROGRAM}
