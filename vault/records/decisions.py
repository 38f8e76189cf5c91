"""The facts a record decision is made with, the audit event it is recorded as, and
the plan of a decided read (``vault.records.reading``)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from vault.audit.events import AuditEvent, Outcome
from vault.crypto.keys import WrappedKey
from vault.cursor_reads import Ahead, Reads
from vault.errors import VaultError
from vault.records.ports import AccessFacts, PolicyDecider
from vault.subjects.ports import ConsentReader
from vault.subjects.visibility import hidden_subject_event
from vault.vocabulary import (
    EMERGENCY_PURPOSE,
    Action,
    ConsentGrant,
    Decision,
    DecisionContext,
    EventAction,
    Principal,
    Resource,
)


@dataclass
class DecisionFacts:
    """Gathers a ``DecisionContext`` from the access and consent capabilities."""

    consents: ConsentReader
    facts: AccessFacts
    policy: PolicyDecider
    clock: Callable[[], datetime]

    def context(
        self,
        reads: Reads,
        principal: Principal,
        subject_id: uuid.UUID,
        purpose: str | None,
        now: datetime | None = None,
    ) -> DecisionContext:
        """The facts of a decision, read in ``reads`` as of ``now`` (default: the clock's)."""
        now = self.clock() if now is None else now
        consents: Sequence[ConsentGrant] = self.consents.active_consents(subject_id, now, reads)
        grant = (
            self.facts.break_glass(reads, principal.id, subject_id, now)
            if purpose == EMERGENCY_PURPOSE
            else None
        )
        return DecisionContext(
            purpose=purpose,
            assigned=self.facts.is_assigned(reads, principal.id, subject_id),
            consents=consents,
            break_glass=grant,
            now=now,
        )

    def context_ahead(
        self, principal: Principal, subject_id: uuid.UUID, purpose: str | None, now: datetime
    ) -> list[Ahead]:
        """The statements ``context(..., now)`` runs, to send ahead (``vault.ahead_reads``)."""
        return [
            self.consents.grants_ahead(subject_id, now),
            *self.facts.facts_ahead(
                principal.id, subject_id, now, emergency=purpose == EMERGENCY_PURPOSE
            ),
        ]

    def unseen(
        self, principal: Principal, action: Action, subject_id: uuid.UUID, purpose: str | None
    ) -> AuditEvent:
        """The refusal of a subject the caller may not know exists (missing, or not theirs).

        Still asked of the policy engine, with no fact that could allow it (no
        organisation, no consent, no assignment), so every answer of a route is
        a decision; recorded as a refused lookup naming the rules that refused.
        """
        decision = self.policy.decide(
            principal,
            action,
            Resource(kind="record", subject_id=subject_id),
            DecisionContext(
                purpose=purpose, assigned=False, consents=(), break_glass=None, now=self.clock()
            ),
        )
        event = hidden_subject_event(principal, subject_id, purpose)
        return replace(event, policy_ids=decision.policy_ids)


def decision_event(
    principal: Principal,
    action: EventAction,
    subject_id: uuid.UUID,
    target_id: uuid.UUID | None,
    decision: Decision,
    purpose: str | None,
    categories: tuple[str, ...] = (),
) -> AuditEvent:
    """The event of one record decision: what was allowed or refused, and by which policies."""
    return AuditEvent.by(
        principal,
        action,
        Outcome.ALLOW if decision.allowed else Outcome.DENY,
        subject_id=subject_id,
        target_id=target_id,
        categories=categories,
        purpose=purpose,
        consent_id=decision.consent_id,
        break_glass_id=decision.break_glass_id,
        policy_ids=decision.policy_ids,
        reason=None if decision.allowed else decision.reason,
        details={"withheld": len(decision.withheld)} if decision.withheld else {},
    )


@dataclass(frozen=True)
class Opening:
    """What an allowed read decrypts once its audit event is durable."""

    subject_id: uuid.UUID
    record: Any  # a row of rows.RECORD
    stored: dict[str, tuple[str, bytes]]  # field name -> (catalog category, ciphertext)
    readable: list[str]
    wrapped: WrappedKey | None
    decision: Decision


@dataclass(frozen=True)
class ReadPlan:
    """A decided record read: ``event`` to make durable, then a refusal or an opening."""

    event: AuditEvent
    refusal: VaultError | None = None
    opening: Opening | None = None
    decoy: bool = False  # the subject is a honeytoken: record a hit once the event is durable
