"""``vault.access.cedar``: verdicts with the @id and @reason that decided, remembered by input."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from vault.access.cedar import (
    NO_CONTENT_ROLES,
    CedarPolicies,
    _names_entities,
    action_uid,
    principal_entities,
    uid,
)
from vault.access.policies import load_policies
from vault.vocabulary import Category, Principal, Role

POLICIES = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture(scope="module")
def cedar() -> CedarPolicies:
    return CedarPolicies(load_policies(POLICIES))


def _release(principal: Principal, category: Category, **context: Any) -> dict[str, Any]:
    facts = {"purpose": "counseling", "consent_covers": True, "break_glass": False}
    return {
        "principal": uid("User", str(principal.id)),
        "action": action_uid("category.release"),
        "resource": uid("Category", category.value),
        "context": facts | {"same_org": True} | context,
    }


def test_admin_and_compliance_never_read_or_write_content(cedar: CedarPolicies) -> None:
    """Whatever the policies say, the role matrix gives these roles no category."""
    for action in ("category.read", "category.write"):
        matrix = cedar.matrix(action)
        for role in NO_CONTENT_ROLES:
            for category in Category:
                entry = matrix[(role, category)]
                assert not entry.allowed
                assert entry.reason.startswith(f"role {role.value} may not")


def test_matrix_names_the_policies_that_allowed(cedar: CedarPolicies) -> None:
    """An allowed cell carries the @id of the policies that allowed it, never a parser id."""
    allowed = [e for e in cedar.matrix("category.read").values() if e.allowed]
    assert allowed
    for entry in allowed:
        assert entry.policy_ids
        assert not any(i.startswith("policy") and i[6:].isdigit() for i in entry.policy_ids)
        assert entry.reason == ""


def test_forbid_reason_is_the_policys_own_words(cedar: CedarPolicies) -> None:
    """A release refused by a forbid explains itself with that forbid's @reason."""
    admin = Principal(uuid.uuid4(), Role.ADMIN, "lapas-a")
    [verdict] = cedar.run(
        [_release(admin, Category.PSYCHOLOGICAL)], principal_entities(admin.id, admin.role)
    )
    assert not verdict.allowed
    assert cedar.reason_of(verdict.parser_ids) == (
        "administrators, compliance officers and evaluators never read record content"
    )
    assert "release.no-content-for-admin-and-compliance" in cedar.ids(verdict.parser_ids)


def test_permit_names_its_legal_basis(cedar: CedarPolicies) -> None:
    """A release allowed on a covering consent is grouped under the basis "consent"."""
    nurse = Principal(uuid.uuid4(), Role.HEALTH_OFFICER, "lapas-a")
    [verdict] = cedar.run(
        [_release(nurse, Category.HEALTH_SENSITIVE)], principal_entities(nurse.id, nurse.role)
    )
    assert verdict.allowed
    assert set(cedar.bases(verdict.parser_ids)) == {"consent"}
    assert cedar.reason_of(verdict.parser_ids) is None


def test_same_question_is_answered_from_memory(
    cedar: CedarPolicies, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Asking again with the same input (here another user of the same role) costs no evaluation."""
    calls: list[int] = []
    real_run = cedar.run

    def counting(requests: list[dict[str, Any]], entities: Any) -> Any:
        calls.append(len(requests))
        return real_run(requests, entities)

    monkeypatch.setattr(cedar, "run", counting)
    first = Principal(uuid.uuid4(), Role.COUNSELOR, "lapas-a")
    second = Principal(uuid.uuid4(), Role.COUNSELOR, "lapas-a")
    request = _release(first, Category.FAMILY, purpose="memo-test")
    a = cedar.run_remembered([request], first, principal_entities(first.id, first.role))
    b = cedar.run_remembered(
        [_release(second, Category.FAMILY, purpose="memo-test")],
        second,
        principal_entities(second.id, second.role),
    )
    assert a == b
    assert calls == [1]
    cedar.run_remembered(
        [_release(first, Category.FAMILY, purpose="memo-test", break_glass=True)],
        first,
        principal_entities(first.id, first.role),
    )
    assert calls == [1, 1]  # a different context is a different question


def test_entities_named_by_literal_id_are_found() -> None:
    """A policy naming a user by id makes the memo key by user (found in the policy JSON)."""
    est = {"a": [{"type": "Vault::User", "id": "x"}, {"type": "Vault::Role", "id": "admin"}]}
    assert _names_entities(est, frozenset({"Vault::User", "Vault::Subject"})) == {"Vault::User"}
    assert _names_entities({"type": "Vault::User"}, frozenset({"Vault::User"})) == frozenset()
