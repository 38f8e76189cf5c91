"""The release step of a read: which categories of a record may be decrypted, and why.

Each category is decryptable iff the role matrix allows it (``category.read``)
AND a release policy allows it (``category.release``) on a legal basis the
engine can check itself: a covering consent, an active break-glass grant, or
the officers' statutory identity rule. The rest go to ``withheld`` with the
reason. Whatever policy file is loaded, admin and compliance_officer never get
a category, and no category is released without one of those bases.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from vault.access.cedar import (
    NO_CONTENT_ROLES,
    CedarPolicies,
    MatrixEntry,
    Verdict,
    action_uid,
    uid,
)
from vault.access.decision_facts import DecisionFacts
from vault.vocabulary import EMERGENCY_PURPOSE, Category, Decision, Principal, Resource, Role

# The legal bases, in the order they are preferred when several hold.
BASIS_ORDER = ("consent", "statutory_identity", "break_glass")

Matrix = dict[tuple[Role, Category], MatrixEntry]


@dataclass(frozen=True)
class Basis:
    """The legal basis that released one category: its name, its policies, its consent."""

    name: str
    parser_ids: tuple[str, ...]
    consent_id: uuid.UUID | None = None


def basis_of(
    cedar: CedarPolicies, verdict: Verdict, facts: DecisionFacts, category: Category
) -> Basis | None:
    """The first checkable legal basis among the permits that allowed a release."""
    by_basis = cedar.bases(verdict.parser_ids)
    for name in BASIS_ORDER:
        if name not in by_basis or not facts.basis_holds(name, category):
            continue
        if name == "consent":
            consent = facts.covering_consent(category)
            if consent is None:
                continue
            return Basis(name, tuple(by_basis[name]), consent.consent_id)
        return Basis(name, tuple(by_basis[name]))
    return None


def withheld_reason(
    cedar: CedarPolicies, verdict: Verdict, facts: DecisionFacts, category: Category
) -> str:
    forbid_reason = None if verdict.allowed else cedar.reason_of(verdict.parser_ids)
    if forbid_reason:
        return forbid_reason
    if facts.purpose == EMERGENCY_PURPOSE:
        return f"no active break-glass grant covering category {category}"
    return f"no active consent for purpose {facts.purpose} covering category {category}"


def write_decision(
    write_matrix: Matrix, principal: Principal, resource: Resource, base_ids: tuple[str, ...]
) -> Decision:
    """A write: every category of the record must be writable by the role."""
    role = Role(principal.role)
    ids = set(base_ids)
    for category in sorted(resource.categories):
        entry = write_matrix[(role, category)]
        ids.update(entry.policy_ids)
        if not entry.allowed:
            return Decision(allowed=False, policy_ids=tuple(sorted(ids)), reason=entry.reason)
    return Decision(
        allowed=True,
        policy_ids=tuple(sorted(ids)),
        reason="allowed",
        categories=frozenset(resource.categories),
    )


def release(
    cedar: CedarPolicies,
    read_matrix: Matrix,
    principal: Principal,
    resource: Resource,
    facts: DecisionFacts,
    base_ids: tuple[str, ...],
    entities: Any,
) -> Decision:
    """A read whose subject-level rules allowed it: decide each category of the resource."""
    if not resource.categories:
        # Metadata only (a listing): the subject-level rules decide.
        return Decision(allowed=True, policy_ids=base_ids, reason="allowed")
    role = Role(principal.role)
    ids = set(base_ids)
    withheld: dict[Category, str] = {}
    candidates = []
    for category in sorted(resource.categories):
        entry = read_matrix[(role, category)]
        if entry.allowed:
            ids.update(entry.policy_ids)
            candidates.append(category)
        else:
            withheld[category] = entry.reason
    requests = [
        {
            "principal": uid("User", str(principal.id)),
            "action": action_uid("category.release"),
            "resource": uid("Category", category.value),
            "context": facts.category_context(category),
        }
        for category in candidates
    ]
    verdicts = cedar.run_remembered(requests, principal, entities) if requests else []
    released: set[Category] = set()
    consents_used: Counter[uuid.UUID] = Counter()
    break_glass_used = False
    for category, verdict in zip(candidates, verdicts, strict=True):
        basis = basis_of(cedar, verdict, facts, category) if verdict.allowed else None
        if basis is None:
            withheld[category] = withheld_reason(cedar, verdict, facts, category)
            continue
        released.add(category)
        ids.update(cedar.ids(basis.parser_ids))
        if basis.consent_id is not None:
            consents_used[basis.consent_id] += 1
        elif basis.name == "break_glass":
            break_glass_used = True
    if role in NO_CONTENT_ROLES:  # belt and braces: never, whatever was loaded
        for category in released:
            withheld[category] = f"role {role.value} may not read category {category}"
        released.clear()
    consent_id = min(consents_used, key=lambda c: (-consents_used[c], str(c)), default=None)
    if not released:
        reasons = "; ".join(f"{c}: {r}" for c, r in sorted(withheld.items()))
        return Decision(
            allowed=False,
            policy_ids=tuple(sorted(ids)),
            reason=f"no category may be released ({reasons})",
            withheld=withheld,
        )
    return Decision(
        allowed=True,
        policy_ids=tuple(sorted(ids)),
        reason="allowed",
        categories=frozenset(released),
        withheld=withheld,
        consent_id=consent_id,
        break_glass_id=facts.grant.id if break_glass_used and facts.grant else None,
    )
