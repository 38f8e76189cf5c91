"""Properties of decide() over random facts: no release without a basis, none for admins."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from vault.access.engine import PolicyEngine
from vault.vocabulary import (
    Action,
    BreakGlassGrant,
    Category,
    ConsentGrant,
    DecisionContext,
    Principal,
    Resource,
    Role,
)

POLICIES = Path(__file__).resolve().parents[2] / "policies"
ENGINE = PolicyEngine.from_directory(POLICIES)
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ORGS = ["rutan-jakpus", "sentra-handayani", "lapas-cipinang"]
PURPOSES = [
    "counseling",
    "social_reintegration",
    "health_treatment",
    "statistics",
    "emergency",
    "administration",
    "handover_kemensos",
]
SUBJECTS = [uuid.UUID(int=1), uuid.UUID(int=2)]
USERS = [uuid.UUID(int=10), uuid.UUID(int=11)]

offsets = st.integers(min_value=-7200, max_value=7200)
categories = st.frozensets(st.sampled_from(list(Category)), min_size=1)

consents = st.builds(
    ConsentGrant,
    consent_id=st.uuids(),
    subject_id=st.sampled_from(SUBJECTS),
    purpose=st.sampled_from(PURPOSES),
    categories=categories,
    recipients=st.frozensets(st.sampled_from(ORGS)),
    expires_at=st.one_of(st.none(), offsets.map(lambda s: NOW + timedelta(seconds=s))),
)
grants = st.one_of(
    st.none(),
    st.builds(
        BreakGlassGrant,
        id=st.uuids(),
        user_id=st.sampled_from(USERS),
        subject_id=st.sampled_from(SUBJECTS),
        expires_at=offsets.map(lambda s: NOW + timedelta(seconds=s)),
    ),
)


def covering_consent(
    principal: Principal, resource: Resource, context: DecisionContext, category: Category
) -> bool:
    return any(
        c.subject_id == resource.subject_id
        and c.purpose == context.purpose
        and category in c.categories
        and principal.organization in c.recipients
        and (c.expires_at is None or c.expires_at > context.now)
        for c in context.consents
    )


def live_break_glass(principal: Principal, resource: Resource, context: DecisionContext) -> bool:
    g = context.break_glass
    return (
        g is not None
        and context.purpose == "emergency"
        and g.user_id == principal.id
        and g.subject_id == resource.subject_id
        and g.expires_at > context.now
    )


@settings(max_examples=150, deadline=None)
@given(
    role=st.sampled_from(list(Role)),
    user=st.sampled_from(USERS),
    org=st.sampled_from(ORGS),
    subject=st.sampled_from(SUBJECTS),
    subject_org=st.sampled_from(ORGS),
    wanted=categories,
    purpose=st.one_of(st.none(), st.sampled_from(PURPOSES)),
    assigned=st.booleans(),
    given_consents=st.lists(consents, max_size=4),
    grant=grants,
    action=st.sampled_from([Action.READ_RECORD, Action.LIST_RECORDS]),
)
def test_no_category_without_a_basis(
    role: Role,
    user: uuid.UUID,
    org: str,
    subject: uuid.UUID,
    subject_org: str,
    wanted: frozenset[Category],
    purpose: str | None,
    assigned: bool,
    given_consents: list[ConsentGrant],
    grant: BreakGlassGrant | None,
    action: Action,
) -> None:
    """Every released category has a covering consent, a live break-glass grant, or is
    identity for an officer of the subject's organisation; admins never get one."""
    principal = Principal(user, role, org)
    resource = Resource("record", subject, subject_org, "x", wanted)
    context = DecisionContext(purpose, assigned, given_consents, grant, NOW)
    decision = ENGINE.decide(principal, action, resource, context)
    assert decision.categories <= wanted
    if decision.categories:
        assert decision.allowed
        assert role not in (Role.ADMIN, Role.COMPLIANCE_OFFICER)
        assert purpose is not None
        assert assigned or live_break_glass(principal, resource, context)
    for category in decision.categories:
        statutory = (
            role is Role.OFFICER
            and category is Category.IDENTITY
            and subject_org == org
            and purpose == "administration"
        )
        assert (
            covering_consent(principal, resource, context, category)
            or live_break_glass(principal, resource, context)
            or statutory
        ), (category, decision)
    # Every category of the resource is either released or withheld with a reason.
    if decision.allowed and wanted:
        assert set(decision.categories) | set(decision.withheld) == set(wanted)
        assert all(decision.withheld.values())
    if decision.consent_id is not None:
        assert decision.consent_id in {c.consent_id for c in given_consents}
    if decision.break_glass_id is not None:
        assert grant is not None
        assert decision.break_glass_id == grant.id
