"""``PolicyEngine.decide(principal, action, resource, context) -> Decision``.

The engine turns the facts a caller gathered (``DecisionContext``) into Cedar
requests and reads back Cedar's answer and the ``@id`` of the policies that
decided it. Deny by default: no permit, an error, or an unknown action is a
denial.

Reads (``record.read`` / ``record.list``) are decided in two steps:

1. the subject: may this role read records at all, is the caller assigned (or
   holding break-glass under purpose ``emergency``), is a purpose declared, is
   the subject in the caller's organisation or does a consent name it as
   recipient. A failure denies the whole request with the rule that failed.
2. each category of the resource: decryptable iff the role matrix allows the
   category (``category.read``) AND a release policy allows it
   (``category.release``) on a basis the engine can check itself: a covering
   consent, an active break-glass grant, or the officers' statutory identity
   rule. The rest go to ``withheld`` with the reason.

Two rules hold whatever policy file is loaded: admin and compliance_officer
never get a category, and no category is released without one of those three
bases.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections import Counter, OrderedDict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Generic, TypeVar

import cedarpy

from vault.access.policies import LoadedPolicies, load_policies
from vault.requestctx import note_decision
from vault.vocabulary import (
    EMERGENCY_PURPOSE,
    Action,
    BreakGlassGrant,
    Category,
    ConsentGrant,
    Decision,
    DecisionContext,
    OperationFacts,
    Principal,
    Resource,
    Role,
)

log = logging.getLogger("vault.access")

# Separation of duties: these roles never obtain record content, whatever the policies say.
NO_CONTENT_ROLES = frozenset({Role.ADMIN, Role.COMPLIANCE_OFFICER})
STATUTORY_PURPOSE = "administration"
SUBJECT_ACTIONS = frozenset(
    {
        Action.READ_RECORD,
        Action.LIST_RECORDS,
        Action.CREATE_RECORD,
        Action.REGISTER_SUBJECT,
        Action.SEARCH_SUBJECT,
        Action.BREAK_GLASS,
        Action.WITNESS_CONSENT,
        Action.MANAGE_ASSIGNMENTS,
    }
)
READ_ACTIONS = frozenset({Action.READ_RECORD, Action.LIST_RECORDS})
# Actions whose resource may carry no organisation (the caller's own is meant).
OWN_ORG_BY_DEFAULT = frozenset({Action.REGISTER_SUBJECT, Action.SEARCH_SUBJECT})
SYSTEM_ID = {"type": "Vault::System", "id": "vault"}
# Remembered Cedar answers (see _VerdictMemo): a few per (role, action, context).
MEMO_SIZE = 8192
V = TypeVar("V")


def _uid(kind: str, value: str) -> dict[str, str]:
    return {"type": f"Vault::{kind}", "id": value}


def _action(name: str) -> dict[str, str]:
    return {"type": "Vault::Action", "id": name}


@dataclass(frozen=True)
class _Verdict:
    allowed: bool
    parser_ids: tuple[str, ...]
    errors: tuple[str, ...]


def _names_entities(est: Any, types: frozenset[str]) -> frozenset[str]:
    """The entity types of ``types`` that some policy names by id (a literal ``T::"id"``)."""
    found: set[str] = set()
    stack = [est]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("type") in types and "id" in node:
                found.add(node["type"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return frozenset(found)


class _Memo(Generic[V]):
    """Answers remembered by their complete input (a bounded LRU, thread-safe).

    Used for Cedar's answers and for whole decisions. Each is a pure function of
    the policy set (fixed for this engine) and of its key. The facts themselves
    (assignment, consents, break-glass, organisation) are read fresh on every
    request and are part of the key: remembering an answer never remembers a
    fact. Only the evaluation is skipped.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            answer = self._entries.get(key)
            if answer is not None:
                self._entries.move_to_end(key)
            return answer

    def put(self, key: Hashable, answer: V) -> None:
        with self._lock:
            self._entries[key] = answer
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


@dataclass(frozen=True)
class _MatrixEntry:
    allowed: bool
    policy_ids: tuple[str, ...]
    reason: str


class PolicyEngine:
    """Pre-parsed policies and schema; one instance per process, safe to share."""

    def __init__(self, policies: LoadedPolicies) -> None:
        self.policies = policies
        # Which ids can change an answer: when no policy names a user (or a subject)
        # by id, a user is only its role to Cedar (its one parent, no attributes),
        # and every subject is alike (no attributes, no parents), so the memo's key
        # holds the role instead of the user and no subject id. Otherwise the ids.
        named = _names_entities(
            json.loads(cedarpy.policies_to_json_str(policies.text)),
            frozenset({"Vault::User", "Vault::Subject"}),
        )
        self._key_by_user = "Vault::User" in named
        self._key_by_subject = "Vault::Subject" in named
        self._memo: _Memo[_Verdict] = _Memo(MEMO_SIZE)
        # Whole decisions, keyed by everything _decide reads (see decide()).
        self._decisions: _Memo[Decision] = _Memo(MEMO_SIZE)
        # Evaluation errors so far: a decision that met one is not remembered.
        self._errors_seen = 0
        self._read = self._matrix("category.read")
        self._write = self._matrix("category.write")

    @classmethod
    def from_directory(cls, directory: Path) -> PolicyEngine:
        return cls(load_policies(directory))

    @property
    def policy_count(self) -> int:
        return len(self.policies.sources)

    # -- Cedar ---------------------------------------------------------------

    def _ids(self, parser_ids: Iterable[str]) -> tuple[str, ...]:
        ids = []
        for parser_id in parser_ids:
            source = self.policies.source(parser_id)
            ids.append(source.policy_id if source else parser_id)
        return tuple(sorted(ids))

    def _reason_of(self, parser_ids: Iterable[str]) -> str | None:
        """The @reason of every forbid that decided, in the order of their @id."""
        reasons = {}
        for parser_id in parser_ids:
            source = self.policies.source(parser_id)
            if source and source.annotations.get("reason"):
                reasons[source.policy_id] = source.annotations["reason"]
        return "; ".join(reasons[key] for key in sorted(reasons)) or None

    def _run(self, requests: list[dict[str, Any]], entities: Any) -> list[_Verdict]:
        results = cedarpy.is_authorized_batch(requests, self.policies.policy_set, entities)
        verdicts = []
        for result in results:
            errors = tuple(str(e) for e in result.diagnostics.errors)
            if errors:
                self._errors_seen += 1
                # An evaluation error is a denial (and a policy bug worth a log line).
                log.warning("policy evaluation error: %s", "; ".join(errors)[:500])
            verdicts.append(
                _Verdict(
                    allowed=bool(result.allowed) and not errors,
                    parser_ids=tuple(result.diagnostics.reasons),
                    errors=errors,
                )
            )
        return verdicts

    def _run_remembered(
        self, requests: list[dict[str, Any]], principal: Principal, entities: Any
    ) -> list[_Verdict]:
        """``_run``, answering from the memo what was already evaluated with the same input."""
        who = str(principal.id) if self._key_by_user else None
        keys = []
        for request in requests:
            resource = request["resource"]
            if resource["type"] == "Vault::Subject" and not self._key_by_subject:
                resource_key: tuple[str, str] = (resource["type"], "")
            else:
                resource_key = (resource["type"], resource["id"])
            keys.append(
                (
                    who,
                    str(principal.role),
                    request["action"]["id"],
                    resource_key,
                    tuple(sorted(request["context"].items())),
                )
            )
        verdicts: list[_Verdict | None] = [self._memo.get(key) for key in keys]
        missing = [i for i, verdict in enumerate(verdicts) if verdict is None]
        if missing:
            fresh = self._run([requests[i] for i in missing], entities)
            for i, verdict in zip(missing, fresh, strict=True):
                verdicts[i] = verdict
                if not verdict.errors:  # an error is logged on each request that meets it
                    self._memo.put(keys[i], verdict)
        return [verdict for verdict in verdicts if verdict is not None]

    def _matrix(self, action: str) -> dict[tuple[Role, Category], _MatrixEntry]:
        """The role matrix, evaluated once: it depends on the role and category only."""
        pairs = [(role, category) for role in Role for category in Category]
        requests = [
            {
                "principal": _uid("Role", role.value),
                "action": _action(action),
                "resource": _uid("Category", category.value),
                "context": {},
            }
            for role, category in pairs
        ]
        verdicts = self._run(requests, [])
        verb = "read" if action == "category.read" else "write"
        matrix = {}
        for (role, category), verdict in zip(pairs, verdicts, strict=True):
            allowed = verdict.allowed and role not in NO_CONTENT_ROLES
            matrix[(role, category)] = _MatrixEntry(
                allowed=allowed,
                policy_ids=self._ids(verdict.parser_ids),
                reason="" if allowed else f"role {role.value} may not {verb} category {category}",
            )
        return matrix

    def may_read(self, role: Role, category: Category) -> bool:
        return self._read[(role, category)].allowed

    def may_write(self, role: Role, category: Category) -> bool:
        return self._write[(role, category)].allowed

    @staticmethod
    @lru_cache(maxsize=4096)
    def _principal_entities(user_id: uuid.UUID, role: Role) -> Any:
        # A pre-parsed handle per user (the user's one parent is their role).
        entity = {"uid": _uid("User", str(user_id)), "attrs": {}, "parents": [_uid("Role", role)]}
        return cedarpy.Entities.from_json_str(json.dumps([entity]))

    # -- the decision ----------------------------------------------------------

    def authorize(
        self,
        principal: Principal,
        action: Action,
        facts: OperationFacts,
        subject_id: uuid.UUID | None = None,
    ) -> Decision:
        """Decide an operation that releases no record content (users, grants, audit, ...).

        The policies see the principal (a user in its role), the action, the
        subject when there is one (else the vault itself) and ``facts`` as the
        context. Deny by default: no permit, an evaluation error or an unknown
        action is a denial with the rule that decided it.
        """
        note_decision()
        try:
            action = Action(action)
            if action in SUBJECT_ACTIONS:
                return Decision(
                    allowed=False, policy_ids=(), reason=f"{action} is decided with decide()"
                )
            resource = _uid("Subject", str(subject_id)) if subject_id else SYSTEM_ID
            request = {
                "principal": _uid("User", str(principal.id)),
                "action": _action(action.value),
                "resource": resource,
                "context": facts.context(principal),
            }
            entities = self._principal_entities(principal.id, Role(principal.role))
            verdict = self._run_remembered([request], principal, entities)[0]
            return self._simple(action, principal, verdict)
        except Exception as exc:  # noqa: BLE001  (fail closed: any failure is a denial)
            log.error("policy decision failed: %s", type(exc).__name__)
            return Decision(allowed=False, policy_ids=(), reason="the decision could not be made")

    def decide(
        self,
        principal: Principal,
        action: Action,
        resource: Resource,
        context: DecisionContext,
    ) -> Decision:
        note_decision()
        try:
            action = Action(action)
            facts = _Facts.gather(principal, action, resource, context)
            # Everything _decide reads: the facts (principal, subject, purpose and the
            # database facts as they hold now) and the resource's categories. The
            # clock matters only through the facts (expired grants are left out).
            key = (action, facts, frozenset(resource.categories))
            remembered = self._decisions.get(key)
            if remembered is not None:
                return remembered
            errors_before = self._errors_seen
            decision = self._decide(principal, action, resource, facts)
            if self._errors_seen == errors_before:
                self._decisions.put(key, decision)
            return decision
        except Exception as exc:  # noqa: BLE001  (fail closed: any failure is a denial)
            log.error("policy decision failed: %s", type(exc).__name__)
            return Decision(allowed=False, policy_ids=(), reason="the decision could not be made")

    def _decide(
        self, principal: Principal, action: Action, resource: Resource, facts: _Facts
    ) -> Decision:
        entities = self._principal_entities(principal.id, Role(principal.role))
        if action not in SUBJECT_ACTIONS:
            return Decision(allowed=False, policy_ids=(), reason=f"unknown action {action}")
        subject_request = {
            "principal": _uid("User", str(principal.id)),
            "action": _action(action.value),
            "resource": _uid("Subject", str(resource.subject_id or "none")),
            "context": facts.subject_context(),
        }
        base = self._run_remembered([subject_request], principal, entities)[0]
        if not base.allowed:
            return self._simple(action, principal, base)
        base_ids = self._ids(base.parser_ids)
        if action in READ_ACTIONS:
            return self._release(principal, resource, facts, base_ids, entities)
        if action is Action.CREATE_RECORD:
            return self._write_decision(principal, resource, base_ids)
        return Decision(allowed=True, policy_ids=base_ids, reason="allowed")

    def _simple(self, action: Action, principal: Principal, verdict: _Verdict) -> Decision:
        if verdict.allowed:
            return Decision(
                allowed=True, policy_ids=self._ids(verdict.parser_ids), reason="allowed"
            )
        reason = self._reason_of(verdict.parser_ids) or (
            f"no policy lets role {principal.role} do {action.value}"
        )
        return Decision(allowed=False, policy_ids=self._ids(verdict.parser_ids), reason=reason)

    def _write_decision(
        self, principal: Principal, resource: Resource, base_ids: tuple[str, ...]
    ) -> Decision:
        role = Role(principal.role)
        ids = set(base_ids)
        for category in sorted(resource.categories):
            entry = self._write[(role, category)]
            ids.update(entry.policy_ids)
            if not entry.allowed:
                return Decision(allowed=False, policy_ids=tuple(sorted(ids)), reason=entry.reason)
        return Decision(
            allowed=True,
            policy_ids=tuple(sorted(ids)),
            reason="allowed",
            categories=frozenset(resource.categories),
        )

    def _release(
        self,
        principal: Principal,
        resource: Resource,
        facts: _Facts,
        base_ids: tuple[str, ...],
        entities: Any,
    ) -> Decision:
        if not resource.categories:
            # Metadata only (a listing): the subject-level rules decide.
            return Decision(allowed=True, policy_ids=base_ids, reason="allowed")
        role = Role(principal.role)
        ids = set(base_ids)
        withheld: dict[Category, str] = {}
        candidates = []
        for category in sorted(resource.categories):
            entry = self._read[(role, category)]
            if entry.allowed:
                ids.update(entry.policy_ids)
                candidates.append(category)
            else:
                withheld[category] = entry.reason
        requests = [
            {
                "principal": _uid("User", str(principal.id)),
                "action": _action("category.release"),
                "resource": _uid("Category", category.value),
                "context": facts.category_context(category),
            }
            for category in candidates
        ]
        verdicts = self._run_remembered(requests, principal, entities) if requests else []
        released: set[Category] = set()
        consents_used: Counter[uuid.UUID] = Counter()
        break_glass_used = False
        for category, verdict in zip(candidates, verdicts, strict=True):
            basis = self._basis(verdict, facts, category) if verdict.allowed else None
            if basis is None:
                withheld[category] = self._withheld_reason(verdict, facts, category)
                continue
            released.add(category)
            ids.update(self._ids(basis[1]))
            if basis[0] == "consent":
                grant = facts.covering_consent(category)
                assert grant is not None
                consents_used[grant.consent_id] += 1
            elif basis[0] == "break_glass":
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

    def _basis(
        self, verdict: _Verdict, facts: _Facts, category: Category
    ) -> tuple[str, tuple[str, ...]] | None:
        """The first checkable legal basis among the permits that allowed a release."""
        order = ("consent", "statutory_identity", "break_glass")
        by_basis: dict[str, list[str]] = {}
        for parser_id in verdict.parser_ids:
            source = self.policies.source(parser_id)
            if source is not None and "basis" in source.annotations:
                by_basis.setdefault(source.annotations["basis"], []).append(parser_id)
        for basis in order:
            if basis in by_basis and facts.basis_holds(basis, category):
                return basis, tuple(by_basis[basis])
        return None

    def _withheld_reason(self, verdict: _Verdict, facts: _Facts, category: Category) -> str:
        forbid_reason = None if verdict.allowed else self._reason_of(verdict.parser_ids)
        if forbid_reason:
            return forbid_reason
        if facts.purpose == EMERGENCY_PURPOSE:
            return f"no active break-glass grant covering category {category}"
        return f"no active consent for purpose {facts.purpose} covering category {category}"


@dataclass(frozen=True)
class _Facts:
    """What the context says, checked against the principal and the resource."""

    principal: Principal
    subject_id: uuid.UUID | None
    purpose: str
    assigned: bool
    same_org: bool
    consents: tuple[ConsentGrant, ...]  # active, unexpired, of this subject
    grant: BreakGlassGrant | None  # active, of this user and subject, under "emergency"

    @classmethod
    def gather(
        cls, principal: Principal, action: Action, resource: Resource, context: DecisionContext
    ) -> _Facts:
        now = context.now
        organization = resource.organization
        if organization is None and action in OWN_ORG_BY_DEFAULT:
            organization = principal.organization
        consents = tuple(
            grant
            for grant in context.consents
            if grant.subject_id == resource.subject_id
            and (grant.expires_at is None or grant.expires_at > now)
        )
        grant = context.break_glass
        if not (
            grant is not None
            and context.purpose == EMERGENCY_PURPOSE
            and grant.user_id == principal.id
            and grant.subject_id == resource.subject_id
            and grant.expires_at > now
        ):
            grant = None
        return cls(
            principal=principal,
            subject_id=resource.subject_id,
            purpose=context.purpose or "",
            assigned=bool(context.assigned),
            same_org=organization is not None and organization == principal.organization,
            consents=consents,
            grant=grant,
        )

    def subject_context(self) -> dict[str, Any]:
        recipient = any(self.principal.organization in c.recipients for c in self.consents)
        return {
            "purpose": self.purpose,
            "assigned": self.assigned,
            "break_glass": self.grant is not None,
            "same_org": self.same_org,
            "consent_recipient": recipient,
        }

    def category_context(self, category: Category) -> dict[str, Any]:
        return {
            "purpose": self.purpose,
            "consent_covers": self.covering_consent(category) is not None,
            "break_glass": self.grant is not None,
            "same_org": self.same_org,
        }

    def covering_consent(self, category: Category) -> ConsentGrant | None:
        if not self.purpose or self.purpose == EMERGENCY_PURPOSE:
            return None
        covering = [
            c
            for c in self.consents
            if c.purpose == self.purpose
            and category in c.categories
            and self.principal.organization in c.recipients
        ]
        return min(covering, key=lambda c: str(c.consent_id), default=None)

    def basis_holds(self, basis: str, category: Category) -> bool:
        if basis == "consent":
            return self.covering_consent(category) is not None
        if basis == "break_glass":
            return self.grant is not None
        if basis == "statutory_identity":
            return (
                category is Category.IDENTITY
                and Role(self.principal.role) is Role.OFFICER
                and self.same_org
                and self.purpose == STATUTORY_PURPOSE
            )
        return False


def describe(decision: Decision) -> Mapping[str, Any]:
    """A decision as plain data (for logs and the policy test command)."""
    return {
        "allowed": decision.allowed,
        "policy_ids": list(decision.policy_ids),
        "reason": decision.reason,
        "categories": sorted(decision.categories),
        "withheld": {str(k): v for k, v in sorted(decision.withheld.items())},
        "consent_id": str(decision.consent_id) if decision.consent_id else None,
        "break_glass_id": str(decision.break_glass_id) if decision.break_glass_id else None,
    }
