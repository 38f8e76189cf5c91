"""The policy engine remembers Cedar's answers and whole decisions, never the facts."""

from __future__ import annotations

import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vault.access.engine import PolicyEngine
from vault.vocabulary import (
    Action,
    Category,
    ConsentGrant,
    DecisionContext,
    Principal,
    Resource,
    Role,
)

POLICIES = Path(__file__).resolve().parents[2] / "policies"
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ORG = "lapas-a"


@pytest.fixture(scope="module")
def engine() -> PolicyEngine:
    return PolicyEngine.from_directory(POLICIES)


def _read(
    engine: PolicyEngine,
    principal: Principal,
    subject: uuid.UUID,
    *,
    assigned: bool = True,
    consents: tuple[ConsentGrant, ...] = (),
    purpose: str = "counseling",
) -> frozenset[Category]:
    decision = engine.decide(
        principal,
        Action.READ_RECORD,
        Resource("record", subject, ORG, "psychological_assessment", {Category.PSYCHOLOGICAL}),
        DecisionContext(purpose, assigned, consents, None, NOW),
    )
    return decision.categories


def _consent(subject: uuid.UUID) -> ConsentGrant:
    return ConsentGrant(
        uuid.uuid4(),
        subject,
        "counseling",
        frozenset({Category.PSYCHOLOGICAL}),
        frozenset({ORG}),
        None,
    )


def test_a_remembered_answer_follows_every_change_of_the_facts(engine: PolicyEngine) -> None:
    """After an allowed read is remembered, losing the consent or the assignment still denies."""
    counselor = Principal(uuid.uuid4(), Role.COUNSELOR, ORG)
    subject = uuid.uuid4()
    consent = (_consent(subject),)
    for _ in range(3):  # the second and third answers come from the memo
        assert _read(engine, counselor, subject, consents=consent) == {Category.PSYCHOLOGICAL}
        assert _read(engine, counselor, subject) == frozenset()  # consent withdrawn
        assert _read(engine, counselor, subject, consents=consent, assigned=False) == frozenset()
        assert _read(engine, counselor, subject, consents=consent, purpose="") == frozenset()
    # Another role with the same facts gets its own answer, not the counselor's.
    admin = Principal(uuid.uuid4(), Role.ADMIN, ORG)
    assert _read(engine, admin, subject, consents=consent) == frozenset()


def test_a_policy_naming_one_user_keeps_users_apart(tmp_path: Path) -> None:
    """When a policy names a user by id, users of one role never share an answer."""
    target = tmp_path / "policies"
    shutil.copytree(POLICIES, target)
    banned = uuid.uuid4()
    (target / "ban.cedar").write_text(
        '@id("ban.one-user")\n@reason("this user is suspended")\n'
        f'forbid (principal == Vault::User::"{banned}", action, resource);\n'
    )
    engine = PolicyEngine.from_directory(target)
    subject = uuid.uuid4()
    consent = (_consent(subject),)
    allowed = Principal(uuid.uuid4(), Role.COUNSELOR, ORG)
    suspended = Principal(banned, Role.COUNSELOR, ORG)
    for _ in range(2):
        assert _read(engine, allowed, subject, consents=consent) == {Category.PSYCHOLOGICAL}
        assert _read(engine, suspended, subject, consents=consent) == frozenset()


def test_a_policy_naming_one_subject_keeps_subjects_apart(tmp_path: Path) -> None:
    """When a policy names a subject by id, its answer is not reused for other subjects."""
    target = tmp_path / "policies"
    shutil.copytree(POLICIES, target)
    sealed = uuid.uuid4()
    (target / "seal.cedar").write_text(
        '@id("seal.one-subject")\n@reason("sealed by court order")\n'
        f'forbid (principal, action, resource == Vault::Subject::"{sealed}");\n'
    )
    engine = PolicyEngine.from_directory(target)
    counselor = Principal(uuid.uuid4(), Role.COUNSELOR, ORG)
    other = uuid.uuid4()
    for _ in range(2):
        assert _read(engine, counselor, other, consents=(_consent(other),)) == {
            Category.PSYCHOLOGICAL
        }
        assert _read(engine, counselor, sealed, consents=(_consent(sealed),)) == frozenset()


def test_a_remembered_decision_ends_when_the_consent_expires(engine: PolicyEngine) -> None:
    """The same stored facts read a minute after the consent's end: denied, not remembered."""
    counselor = Principal(uuid.uuid4(), Role.COUNSELOR, ORG)
    subject = uuid.uuid4()
    ends = NOW + timedelta(minutes=30)
    consent = ConsentGrant(
        uuid.uuid4(),
        subject,
        "counseling",
        frozenset({Category.PSYCHOLOGICAL}),
        frozenset({ORG}),
        ends,
    )
    resource = Resource(
        "record", subject, ORG, "psychological_assessment", {Category.PSYCHOLOGICAL}
    )

    def read_at(moment: datetime) -> frozenset[Category]:
        context = DecisionContext("counseling", True, (consent,), None, moment)
        return engine.decide(counselor, Action.READ_RECORD, resource, context).categories

    for _ in range(2):
        assert read_at(NOW) == {Category.PSYCHOLOGICAL}
        assert read_at(ends + timedelta(minutes=1)) == frozenset()
