"""``vault.vocabulary``: the facts a policy sees are computed against the asking principal."""

from __future__ import annotations

import uuid
from pathlib import Path

from vault.vocabulary import AuthenticatedUser, OperationFacts, Principal, Role

OFFICER = Principal(uuid.UUID(int=1), Role.OFFICER, "lapas-a")


def test_same_org_compares_the_target_with_the_principal() -> None:
    """A target in the principal's organisation is same_org; elsewhere or unknown is not."""
    assert OperationFacts(target_org="lapas-a").context(OFFICER)["same_org"] is True
    assert OperationFacts(target_org="lapas-b").context(OFFICER)["same_org"] is False
    assert OperationFacts().context(OFFICER)["same_org"] is False


def test_account_org_is_judged_apart_from_the_target() -> None:
    """A care-team member's own organisation is its own fact, false when not given."""
    facts = OperationFacts(target_org="lapas-b", account_org="lapas-a")
    context = facts.context(OFFICER)
    assert (context["same_org"], context["account_same_org"]) == (False, True)
    assert OperationFacts(target_org="lapas-a").context(OFFICER)["account_same_org"] is False


def test_context_carries_every_fact_the_schema_names() -> None:
    """The Cedar context has each OperationFacts field, passed as given, and exactly the
    attributes the schema's OperationFacts type declares."""
    context = OperationFacts(
        target_org="lapas-a",
        on_self=True,
        created_by_principal=True,
        target_role="admin",
        consent_recipient=True,
        assigned=True,
    ).context(OFFICER)
    assert context == {
        "same_org": True,
        "on_self": True,
        "created_by_principal": True,
        "target_role": "admin",
        "consent_recipient": True,
        "account_same_org": False,
        "assigned": True,
    }
    schema = (Path(__file__).resolve().parents[2] / "policies" / "vault.cedarschema").read_text()
    declared = schema.split("type OperationFacts = {", 1)[1].split("};", 1)[0]
    names = {line.split(":", 1)[0].strip() for line in declared.splitlines() if ":" in line}
    assert names == set(context)


def test_logged_in_user_becomes_a_principal_with_a_known_role() -> None:
    """An authenticated user's principal keeps id and organisation and types the role."""
    user = AuthenticatedUser(OFFICER.id, "officer.a", "officer", "lapas-a", uuid.uuid4())
    assert user.principal() == OFFICER
    assert user.principal().role is Role.OFFICER
