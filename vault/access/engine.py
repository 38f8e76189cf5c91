"""``PolicyEngine``: ``decide(principal, action, resource, context)`` and ``authorize(...)``.

The engine turns the facts a caller gathered into Cedar requests
(``vault.access.cedar``) and reads back Cedar's answer and the ``@id`` of the
policies that decided it. Deny by default: no permit, an error, or an unknown
action is a denial.

Reads (``record.read`` / ``record.list``) are decided in two steps:

1. the subject: may this role read records at all, is the caller assigned (or
   holding break-glass under purpose ``emergency``), is a purpose declared, is
   the subject in the caller's organisation or does a consent name it as
   recipient. A failure denies the whole request with the rule that failed.
2. each category of the resource (``vault.access.release``): decryptable iff
   the role matrix and a release policy allow it on a basis the engine can
   check itself. The rest go to ``withheld`` with the reason.

Operations that release no record content (accounts, grants, assignments, the
audit log) are decided by ``authorize`` with ``OperationFacts``.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

from vault.access.cedar import CedarPolicies, Verdict, action_uid, principal_entities, uid
from vault.access.decision_facts import DecisionFacts
from vault.access.memo import MEMO_SIZE, Memo
from vault.access.policies import LoadedPolicies, load_policies
from vault.access.release import release, write_decision
from vault.requestctx import note_decision
from vault.vocabulary import (
    Action,
    Decision,
    DecisionContext,
    OperationFacts,
    Principal,
    Resource,
    Role,
)

log = logging.getLogger("vault.access")

# Actions about one subject's records, decided by decide() with SubjectFacts.
SUBJECT_ACTIONS = frozenset(
    {
        Action.READ_RECORD,
        Action.LIST_RECORDS,
        Action.CREATE_RECORD,
        Action.REGISTER_SUBJECT,
        Action.SEARCH_SUBJECT,
        Action.BREAK_GLASS,
        Action.WITNESS_CONSENT,
    }
)
READ_ACTIONS = frozenset({Action.READ_RECORD, Action.LIST_RECORDS})
SYSTEM_ID = {"type": "Vault::System", "id": "vault"}
DENIED_BY_FAILURE = "the decision could not be made"


class PolicyEngine:
    """Pre-parsed policies and schema; one instance per process, safe to share."""

    def __init__(self, policies: LoadedPolicies, memo_size: int = MEMO_SIZE) -> None:
        self.policies = policies
        self.cedar = CedarPolicies(policies, memo_size)
        # Whole decisions, keyed by everything _decide reads (see decide()); at most
        # ``memo_size`` of them, and as many Cedar answers.
        self._decisions: Memo[Decision] = Memo(memo_size)
        self._read = self.cedar.matrix("category.read")
        self._write = self.cedar.matrix("category.write")

    @classmethod
    def from_directory(cls, directory: Path) -> PolicyEngine:
        return cls(load_policies(directory))

    @property
    def remembered(self) -> int:
        """How many answers are remembered now (whole decisions and Cedar's)."""
        return len(self._decisions) + self.cedar.remembered

    @property
    def policy_count(self) -> int:
        return len(self.policies.sources)

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
            resource = uid("Subject", str(subject_id)) if subject_id else SYSTEM_ID
            request = {
                "principal": uid("User", str(principal.id)),
                "action": action_uid(action.value),
                "resource": resource,
                "context": facts.context(principal),
            }
            entities = principal_entities(principal.id, Role(principal.role))
            verdict = self.cedar.run_remembered([request], principal, entities)[0]
            return self._simple(action, principal, verdict)
        except Exception as exc:  # noqa: BLE001  (fail closed: any failure is a denial)
            log.error("policy decision failed: %s", type(exc).__name__)
            return Decision(allowed=False, policy_ids=(), reason=DENIED_BY_FAILURE)

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
            facts = DecisionFacts.gather(principal, action, resource, context)
            # Everything _decide reads: the facts (principal, subject, purpose and the
            # database facts as they hold now) and the resource's categories. The
            # clock matters only through the facts (expired grants are left out).
            key = (action, facts, frozenset(resource.categories))
            remembered = self._decisions.get(key)
            if remembered is not None:
                return remembered
            errors_before = self.cedar.errors_seen
            decision = self._decide(principal, action, resource, facts)
            if self.cedar.errors_seen == errors_before:
                self._decisions.put(key, decision)
            return decision
        except Exception as exc:  # noqa: BLE001  (fail closed: any failure is a denial)
            log.error("policy decision failed: %s", type(exc).__name__)
            return Decision(allowed=False, policy_ids=(), reason=DENIED_BY_FAILURE)

    def _decide(
        self, principal: Principal, action: Action, resource: Resource, facts: DecisionFacts
    ) -> Decision:
        if action not in SUBJECT_ACTIONS:
            return Decision(allowed=False, policy_ids=(), reason=f"{action} is not about records")
        entities = principal_entities(principal.id, Role(principal.role))
        subject_request = {
            "principal": uid("User", str(principal.id)),
            "action": action_uid(action.value),
            "resource": uid("Subject", str(resource.subject_id or "none")),
            "context": facts.subject_context(),
        }
        base = self.cedar.run_remembered([subject_request], principal, entities)[0]
        if not base.allowed:
            return self._simple(action, principal, base)
        base_ids = self.cedar.ids(base.parser_ids)
        if action in READ_ACTIONS:
            return release(self.cedar, self._read, principal, resource, facts, base_ids, entities)
        if action is Action.CREATE_RECORD:
            return write_decision(self._write, principal, resource, base_ids)
        return Decision(allowed=True, policy_ids=base_ids, reason="allowed")

    def _simple(self, action: Action, principal: Principal, verdict: Verdict) -> Decision:
        if verdict.allowed:
            return Decision(
                allowed=True, policy_ids=self.cedar.ids(verdict.parser_ids), reason="allowed"
            )
        reason = self.cedar.reason_of(verdict.parser_ids) or (
            f"no policy lets role {principal.role} do {action.value}"
        )
        return Decision(allowed=False, policy_ids=self.cedar.ids(verdict.parser_ids), reason=reason)
