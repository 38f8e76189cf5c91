"""The decision table: every role x category x situation, with the deciding policies."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vault.access.engine import PolicyEngine
from vault.vocabulary import (
    Action,
    BreakGlassGrant,
    Category,
    ConsentGrant,
    DecisionContext,
    OperationFacts,
    Principal,
    Resource,
    Role,
)

POLICIES = Path(__file__).resolve().parents[2] / "policies"
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ORG = "rutan-jakpus"
OTHER_ORG = "sentra-handayani"
SUBJECT = uuid.UUID("00000000-0000-4000-8000-000000000001")
USER = uuid.UUID("00000000-0000-4000-8000-0000000000aa")
CONSENT = uuid.UUID("00000000-0000-4000-8000-0000000000c1")
GRANT = uuid.UUID("00000000-0000-4000-8000-0000000000b1")

# The role matrix as the issue states it (what each role may read at all).
ROLE_READS = {
    Role.COUNSELOR: {Category.PSYCHOLOGICAL, Category.PROGRAM},
    Role.SOCIAL_WORKER: {Category.FAMILY, Category.PROGRAM},
    Role.HEALTH_OFFICER: {Category.HEALTH_SENSITIVE, Category.PROGRAM},
    Role.OFFICER: {Category.IDENTITY, Category.PROGRAM},
    Role.COMPLIANCE_OFFICER: set(),
    Role.ADMIN: set(),
}
READER_ROLES = {Role.COUNSELOR, Role.SOCIAL_WORKER, Role.HEALTH_OFFICER, Role.OFFICER}
BREAK_GLASS_ROLES = {Role.COUNSELOR, Role.HEALTH_OFFICER}


@pytest.fixture(scope="module")
def engine() -> PolicyEngine:
    return PolicyEngine.from_directory(POLICIES)


def consent(
    category: Category,
    *,
    purpose: str = "counseling",
    recipients: frozenset[str] = frozenset({ORG}),
    expires_at: datetime | None = None,
) -> ConsentGrant:
    return ConsentGrant(
        consent_id=CONSENT,
        subject_id=SUBJECT,
        purpose=purpose,
        categories=frozenset({category}),
        recipients=recipients,
        expires_at=expires_at,
    )


@dataclass(frozen=True)
class Situation:
    """One row of the table: the facts, and what must come of them."""

    name: str
    purpose: str | None
    assigned: bool
    consents: tuple[ConsentGrant, ...]
    break_glass: BreakGlassGrant | None
    subject_org: str
    # Which rule must deny the whole request (None: the base rules pass for reader roles).
    base_denial: str | None
    # How a category the role may read is released: "consent", "break_glass" or None.
    release: str | None


def situations(category: Category) -> list[Situation]:
    live = BreakGlassGrant(GRANT, USER, SUBJECT, NOW + timedelta(minutes=30))
    stale = BreakGlassGrant(GRANT, USER, SUBJECT, NOW - timedelta(seconds=1))
    return [
        Situation("consent", "counseling", True, (consent(category),), None, ORG, None, "consent"),
        Situation("no consent", "counseling", True, (), None, ORG, None, None),
        # A withdrawn consent is no longer among the active ones the provider returns.
        Situation("withdrawn", "counseling", True, (), None, ORG, None, None),
        Situation(
            "expired consent",
            "counseling",
            True,
            (consent(category, expires_at=NOW - timedelta(seconds=1)),),
            None,
            ORG,
            None,
            None,
        ),
        Situation(
            "consent for another purpose",
            "counseling",
            True,
            (consent(category, purpose="statistics"),),
            None,
            ORG,
            None,
            None,
        ),
        Situation(
            "consent names another organisation",
            "counseling",
            True,
            (consent(category, recipients=frozenset({OTHER_ORG})),),
            None,
            ORG,
            None,
            None,
        ),
        Situation(
            "subject elsewhere, consent names us",
            "counseling",
            True,
            (consent(category),),
            None,
            OTHER_ORG,
            None,
            "consent",
        ),
        Situation(
            "subject elsewhere, no consent",
            "counseling",
            True,
            (),
            None,
            OTHER_ORG,
            "records.require-organisation",
            None,
        ),
        Situation(
            "unassigned",
            "counseling",
            False,
            (consent(category),),
            None,
            ORG,
            "records.require-assignment",
            None,
        ),
        Situation(
            "no purpose",
            None,
            True,
            (consent(category),),
            None,
            ORG,
            "records.require-purpose",
            None,
        ),
        Situation("break-glass", "emergency", False, (), live, ORG, None, "break_glass"),
        Situation(
            "break-glass expired",
            "emergency",
            False,
            (),
            stale,
            ORG,
            "records.require-assignment",
            None,
        ),
        Situation(
            "break-glass under another purpose",
            "counseling",
            False,
            (),
            live,
            ORG,
            "records.require-assignment",
            None,
        ),
    ]


CASES = [
    pytest.param(role, category, situation, id=f"{role}-{category}-{situation.name}")
    for role in Role
    for category in Category
    for situation in situations(category)
]


@pytest.mark.parametrize(("role", "category", "situation"), CASES)
def test_read_decision(
    engine: PolicyEngine, role: Role, category: Category, situation: Situation
) -> None:
    """Each role x category x situation gets the decision, reason and policies the rules give."""
    principal = Principal(USER, role, ORG)
    resource = Resource(
        kind="record",
        subject_id=SUBJECT,
        organization=situation.subject_org,
        record_type="any",
        categories=frozenset({category}),
    )
    context = DecisionContext(
        purpose=situation.purpose,
        assigned=situation.assigned,
        consents=situation.consents,
        break_glass=situation.break_glass,
        now=NOW,
    )
    decision = engine.decide(principal, Action.READ_RECORD, resource, context)

    if role not in READER_ROLES:
        assert not decision.allowed
        assert decision.categories == frozenset()
        assert "records.no-content-for-admin-and-compliance" in decision.policy_ids
        assert "never read" in decision.reason
        return
    if situation.base_denial is not None:
        assert not decision.allowed
        assert decision.categories == frozenset()
        assert decision.withheld == {}
        assert situation.base_denial in decision.policy_ids
        return

    assert "records.staff-read" in decision.policy_ids
    role_may = category in ROLE_READS[role]
    release = situation.release
    if release == "break_glass" and role not in BREAK_GLASS_ROLES:
        release = None
    statutory = (
        role is Role.OFFICER
        and category is Category.IDENTITY
        and situation.purpose == "administration"
    )
    if role_may and (release or statutory):
        assert decision.allowed
        assert decision.categories == frozenset({category})
        assert decision.withheld == {}
        assert f"matrix.{role}.read" in decision.policy_ids
        if release == "consent":
            assert decision.consent_id == CONSENT
            assert decision.break_glass_id is None
            assert "release.consent" in decision.policy_ids
        else:
            assert decision.break_glass_id == GRANT
            assert decision.consent_id is None
            assert "release.break-glass" in decision.policy_ids
        return
    assert not decision.allowed
    assert decision.categories == frozenset()
    assert decision.consent_id is None
    assert decision.break_glass_id is None
    if not role_may:
        assert decision.withheld == {category: f"role {role} may not read category {category}"}
    elif situation.purpose == "emergency":
        assert decision.withheld == {
            category: f"no active break-glass grant covering category {category}"
        }
    else:
        assert decision.withheld == {
            category: f"no active consent for purpose {situation.purpose} "
            f"covering category {category}"
        }


def test_mixed_record_releases_some_and_withholds_the_rest(engine: PolicyEngine) -> None:
    """A counselor with consent for psychological data gets it; family and health are withheld."""
    decision = engine.decide(
        Principal(USER, Role.COUNSELOR, ORG),
        Action.READ_RECORD,
        Resource(
            "record",
            SUBJECT,
            ORG,
            "psychological_assessment",
            frozenset({Category.PSYCHOLOGICAL, Category.FAMILY, Category.PROGRAM}),
        ),
        DecisionContext("counseling", True, (consent(Category.PSYCHOLOGICAL),), None, NOW),
    )
    assert decision.allowed
    assert decision.categories == {Category.PSYCHOLOGICAL}
    assert decision.withheld == {
        Category.FAMILY: "role counselor may not read category family",
        Category.PROGRAM: "no active consent for purpose counseling covering category program",
    }
    assert decision.consent_id == CONSENT
    assert decision.policy_ids == ("matrix.counselor.read", "records.staff-read", "release.consent")


@pytest.mark.parametrize(
    ("purpose", "subject_org", "allowed"),
    [
        ("administration", ORG, True),
        ("counseling", ORG, False),
        ("administration", OTHER_ORG, False),
    ],
)
def test_officer_identity_is_statutory(
    engine: PolicyEngine, purpose: str, subject_org: str, allowed: bool
) -> None:
    """Officers read identity of their own organisation's subjects for administration only."""
    consents = (consent(Category.IDENTITY, recipients=frozenset({OTHER_ORG})),)
    decision = engine.decide(
        Principal(USER, Role.OFFICER, ORG),
        Action.READ_RECORD,
        Resource("record", SUBJECT, subject_org, "identity", frozenset({Category.IDENTITY})),
        DecisionContext(purpose, True, consents, None, NOW),
    )
    assert decision.allowed is allowed
    if allowed:
        assert decision.categories == {Category.IDENTITY}
        assert "release.officer-identity" in decision.policy_ids
        assert decision.consent_id is None


def test_break_glass_of_someone_else_does_not_count(engine: PolicyEngine) -> None:
    """A break-glass grant issued to another user, or for another subject, opens nothing."""
    for grant in (
        BreakGlassGrant(GRANT, uuid.uuid4(), SUBJECT, NOW + timedelta(hours=1)),
        BreakGlassGrant(GRANT, USER, uuid.uuid4(), NOW + timedelta(hours=1)),
    ):
        decision = engine.decide(
            Principal(USER, Role.COUNSELOR, ORG),
            Action.READ_RECORD,
            Resource("record", SUBJECT, ORG, "x", frozenset({Category.PSYCHOLOGICAL})),
            DecisionContext("emergency", False, (), grant, NOW),
        )
        assert not decision.allowed
        assert decision.policy_ids == ("records.require-assignment",)


def test_consent_of_another_subject_does_not_count(engine: PolicyEngine) -> None:
    """A consent given by one subject never opens another subject's record."""
    foreign = ConsentGrant(
        CONSENT, uuid.uuid4(), "counseling", frozenset(Category), frozenset({ORG}), None
    )
    decision = engine.decide(
        Principal(USER, Role.COUNSELOR, ORG),
        Action.READ_RECORD,
        Resource("record", SUBJECT, ORG, "x", frozenset({Category.PSYCHOLOGICAL})),
        DecisionContext("counseling", True, (foreign,), None, NOW),
    )
    assert not decision.allowed


def _ctx(assigned: bool = True) -> DecisionContext:
    return DecisionContext(None, assigned, (), None, NOW)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("assigned", [True, False])
def test_create_record(engine: PolicyEngine, role: Role, assigned: bool) -> None:
    """Writing needs a writing role, the type's categories in its matrix, and an assignment."""
    for category in Category:
        decision = engine.decide(
            Principal(USER, role, ORG),
            Action.CREATE_RECORD,
            Resource("record", SUBJECT, ORG, "x", frozenset({category})),
            _ctx(assigned),
        )
        expected = (
            assigned
            and role in {Role.COUNSELOR, Role.SOCIAL_WORKER, Role.HEALTH_OFFICER}
            and category in ROLE_READS[role]
        )
        assert decision.allowed is expected, (role, category, assigned, decision.reason)
        if expected:
            assert decision.policy_ids == ("matrix." + role + ".write", "records.care-team-write")
            assert decision.categories == {category}
        elif not assigned and role in {Role.COUNSELOR, Role.SOCIAL_WORKER, Role.HEALTH_OFFICER}:
            assert decision.policy_ids == ("records.require-assignment-to-write",)


OPERATIONS = {
    Action.REGISTER_SUBJECT: ({Role.OFFICER}, "ops.officer-registers-subjects"),
    Action.SEARCH_SUBJECT: (READER_ROLES, "ops.staff-search-subjects"),
    Action.BREAK_GLASS: (BREAK_GLASS_ROLES, "ops.break-glass-by-clinicians"),
    Action.WITNESS_CONSENT: ({Role.OFFICER, Role.COUNSELOR}, "ops.witness-consent"),
}


@pytest.mark.parametrize("action", list(OPERATIONS))
@pytest.mark.parametrize("role", list(Role))
def test_operations(engine: PolicyEngine, action: Action, role: Role) -> None:
    """Each operation is open to exactly its roles, and only within their organisation."""
    roles, policy_id = OPERATIONS[action]
    own = engine.decide(
        Principal(USER, role, ORG), action, Resource("subject", SUBJECT, ORG), _ctx()
    )
    assert own.allowed is (role in roles)
    if own.allowed:
        assert own.policy_ids == (policy_id,)
    else:
        assert own.policy_ids == ()
        assert f"no policy lets role {role}" in own.reason
    other = engine.decide(
        Principal(USER, role, ORG), action, Resource("subject", SUBJECT, OTHER_ORG), _ctx()
    )
    assert not other.allowed


@pytest.mark.parametrize("role", list(Role))
def test_audit_is_read_only_by_compliance_of_the_same_organisation(
    engine: PolicyEngine, role: Role
) -> None:
    """audit.read is allowed to a compliance officer of the log's organisation, to no one else."""
    own = engine.authorize(Principal(USER, role, ORG), Action.READ_AUDIT, OperationFacts(ORG))
    other = engine.authorize(
        Principal(USER, role, ORG), Action.READ_AUDIT, OperationFacts(OTHER_ORG)
    )
    assert own.allowed is (role is Role.COMPLIANCE_OFFICER)
    assert not other.allowed
    if own.allowed:
        assert own.policy_ids == ("audit.compliance-reads-own-org",)


def test_authorize_refuses_record_actions(engine: PolicyEngine) -> None:
    """Record actions cannot be slipped through the operations gate, which has no facts for them."""
    decision = engine.authorize(
        Principal(USER, Role.COUNSELOR, ORG), Action.READ_RECORD, OperationFacts(ORG)
    )
    assert not decision.allowed


def test_unknown_or_broken_input_is_denied(engine: PolicyEngine) -> None:
    """A decision that cannot be made (bad role value) is a denial, not an exception."""
    decision = engine.decide(
        Principal(USER, "superuser", ORG),  # type: ignore[arg-type]
        Action.READ_RECORD,
        Resource("record", SUBJECT, ORG, "x", frozenset({Category.PROGRAM})),
        _ctx(),
    )
    assert not decision.allowed


CONTENT_ROLES = [Role.COUNSELOR, Role.SOCIAL_WORKER, Role.HEALTH_OFFICER]


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("target_role", list(Role))
def test_assignments_are_for_content_roles_by_admins_and_officers(
    engine: PolicyEngine, role: Role, target_role: Role
) -> None:
    """assignment.manage: an admin or officer of the holding organisation, for a content role."""
    facts = OperationFacts(ORG, target_role=target_role.value, account_org=ORG)
    decision = engine.authorize(Principal(USER, role, ORG), Action.MANAGE_ASSIGNMENTS, facts)
    expected = role in {Role.ADMIN, Role.OFFICER} and target_role in CONTENT_ROLES
    assert decision.allowed is expected
    if expected:
        assert decision.policy_ids == ("ops.manage-assignments",)


@pytest.mark.parametrize(
    ("facts", "allowed"),
    [
        (OperationFacts(ORG, target_role="counselor", account_org=ORG), True),
        (OperationFacts(ORG, target_role="counselor", account_org=OTHER_ORG), True),
        (OperationFacts(ORG, on_self=True, target_role="counselor", account_org=ORG), False),
        (OperationFacts(OTHER_ORG, target_role="counselor", account_org=ORG), False),
        (
            OperationFacts(
                OTHER_ORG, target_role="counselor", consent_recipient=True, account_org=ORG
            ),
            True,
        ),
        (
            OperationFacts(
                OTHER_ORG, target_role="counselor", consent_recipient=True, account_org=OTHER_ORG
            ),
            False,
        ),
    ],
)
def test_assignments_stay_within_the_organisation(
    engine: PolicyEngine, facts: OperationFacts, allowed: bool
) -> None:
    """A recipient organisation manages only its own staff; no one manages their own place."""
    decision = engine.authorize(Principal(USER, Role.ADMIN, ORG), Action.MANAGE_ASSIGNMENTS, facts)
    assert decision.allowed is allowed


@pytest.mark.parametrize(
    "action",
    [Action.LIST_BREAK_GLASS, Action.REVIEW_BREAK_GLASS, Action.UNBLOCK_BREAK_GLASS],
)
@pytest.mark.parametrize("role", list(Role))
def test_break_glass_compliance_is_own_org_and_two_people(
    engine: PolicyEngine, action: Action, role: Role
) -> None:
    """Only a compliance officer of the grant's organisation, never for themself or a
    person they created or who created them."""
    principal = Principal(USER, role, ORG)
    own = engine.authorize(principal, action, OperationFacts(ORG))
    assert own.allowed is (role is Role.COMPLIANCE_OFFICER)
    assert not engine.authorize(principal, action, OperationFacts(OTHER_ORG)).allowed
    if action is Action.LIST_BREAK_GLASS:
        return
    for facts in (
        OperationFacts(ORG, on_self=True),
        OperationFacts(ORG, created_by_principal=True),
    ):
        refused = engine.authorize(principal, action, facts)
        assert not refused.allowed
        if role is Role.COMPLIANCE_OFFICER:
            assert refused.policy_ids == ("care.two-people-for-a-review",)
