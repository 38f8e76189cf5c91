"""The subjects service's collaborators and its one gate for operations on a subject.

Every route about one subject (view, status, legal hold, erasure approval,
erasure, record correction) goes through ``gate``: it looks the subject up,
asks the policy engine with the facts (the subject's organisation, a consent
naming the caller's, the two-person facts), and answers a subject the caller
may not know about exactly like a missing one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime

from vault.audit.events import AuditEvent, AuditSink, Outcome
from vault.cursor_reads import Reads
from vault.db import Database
from vault.errors import Forbidden, NotFound
from vault.subjects.ports import (
    BlindIndexer,
    IdentityRecords,
    PinHasher,
    SubjectKeyMaker,
    TwoPeople,
)
from vault.subjects.visibility import SubjectRef, SubjectVisibility, hidden_subject_event
from vault.vocabulary import (
    Action,
    Decision,
    EventAction,
    OperationFacts,
    PolicyDecider,
    Principal,
)

# The audit event of each gated operation (a refused view is a refused lookup).
EVENT_OF: dict[Action, EventAction] = {
    Action.VIEW_SUBJECT: EventAction.SUBJECT_LOOKUP,
    Action.SET_SUBJECT_STATUS: EventAction.SUBJECT_STATUS,
    Action.SET_LEGAL_HOLD: EventAction.SUBJECT_LEGAL_HOLD,
    Action.APPROVE_ERASURE: EventAction.SUBJECT_ERASURE_APPROVE,
    Action.ERASE_SUBJECT: EventAction.SUBJECT_ERASE,
    Action.CORRECT_RECORD: EventAction.RECORD_CORRECT,
}


@dataclass
class SubjectsBase:
    db: Database
    policy: PolicyDecider
    audit: AuditSink
    visibility: SubjectVisibility
    blind_index: BlindIndexer
    subject_keys: SubjectKeyMaker
    records: IdentityRecords
    pins: PinHasher
    distinct_people: TwoPeople
    clock: Callable[[], datetime]
    # Called with the subjects a search found (``vault.honeytokens.watch``): decoys raise alerts.
    on_touch: Callable[[Principal, Collection[uuid.UUID], str], None] | None = None

    def visible_to(
        self,
        reads: Reads,
        principal: Principal,
        subject_id: uuid.UUID,
        purpose: str | None = None,
    ) -> SubjectRef | None:
        """The subject if ``principal`` may know it exists, else ``None`` (as if missing).

        The one lookup for every capability: answer ``None`` with
        ``NotFound("No such subject.")`` and record ``hidden_subject_event``.
        """
        return self.visibility.visible_to(reads, principal, subject_id, purpose)

    def admitted(
        self,
        reads: Reads,
        principal: Principal,
        subject: SubjectRef | None,
        purpose: str | None = None,
    ) -> SubjectRef | None:
        """``visible_to`` for a subject row the caller read itself (``None``: not live)."""
        return self.visibility.admitted(reads, principal, subject, purpose)

    def gate(
        self,
        reads: Reads,
        principal: Principal,
        action: Action,
        subject_id: uuid.UUID,
        *,
        on_self: bool = False,
        created_by_principal: bool = False,
        assigned: bool = False,
    ) -> SubjectRef:
        """The subject, once the policy allowed ``action`` on it.

        Refused: ``NotFound`` (the same answer as a missing subject) unless the
        caller may see the subject, else ``Forbidden``. Both are audited.
        """
        subject = self.visibility.live(reads, subject_id)
        same_org = subject is not None and subject.organization == principal.organization
        recipient = (
            subject is not None
            and not same_org
            and self.visibility.consent_recipient(reads, principal, subject_id, None)
        )
        decision = self.policy.authorize(
            principal,
            action,
            OperationFacts(
                target_org=subject.organization if subject is not None else None,
                on_self=on_self,
                created_by_principal=created_by_principal,
                consent_recipient=recipient,
                assigned=assigned,
            ),
            subject_id,
        )
        if subject is not None and decision.allowed:
            return subject
        if subject is None or not (same_org or recipient):
            self.audit.append(hidden_subject_event(principal, subject_id))
            raise NotFound("No such subject.")
        self.audit.append(self.refusal(principal, action, subject_id, decision))
        raise Forbidden(f"Not allowed: {decision.reason}")

    @staticmethod
    def refusal(
        principal: Principal, action: Action, subject_id: uuid.UUID | None, decision: Decision
    ) -> AuditEvent:
        return AuditEvent.by(
            principal,
            EVENT_OF[action] if action in EVENT_OF else EventAction(action.value),
            Outcome.DENY,
            subject_id=subject_id,
            policy_ids=decision.policy_ids,
            reason=decision.reason,
        )
