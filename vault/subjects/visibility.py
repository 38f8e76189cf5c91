"""Which subject a caller may know exists: the one lookup every capability uses.

A subject is visible to staff of the organisation holding it, and to staff of
an organisation an active consent of the subject names as a recipient (for
that consent's purpose, when a purpose is declared). Anything else (missing,
erased, another organisation's) is the same ``None``: the caller answers it
exactly like a subject that does not exist.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam
from sqlmodel import col

from vault.audit.events import AuditEvent, Outcome
from vault.cursor_reads import Reads, row_select
from vault.subjects.models import Subject
from vault.subjects.ports import ConsentReader
from vault.vocabulary import EventAction, Principal

# Built once and run on the hot path's bare cursor (vault.cursor_reads).
_LIVE_SUBJECT = row_select(
    Subject, "id", "organization", "status", "legal_hold", "erased_at"
).where(col(Subject.id) == bindparam("subject_id"))
HIDDEN_REASON = (
    "no such subject, or held by another organisation without a consent naming the caller's"
)


@dataclass(frozen=True)
class SubjectRef:
    """What a request needs to know of a subject it may see."""

    id: uuid.UUID
    organization: str
    status: str
    legal_hold: bool


@dataclass
class SubjectVisibility:
    consents: ConsentReader
    clock: Callable[[], datetime]

    def live(self, reads: Reads, subject_id: uuid.UUID) -> SubjectRef | None:
        """The subject if it exists and is not erased, whoever holds it (for the gate only)."""
        row = reads.execute(_LIVE_SUBJECT, {"subject_id": subject_id}).first()
        if row is None or row.erased_at is not None:
            return None
        return SubjectRef(row.id, row.organization, row.status, row.legal_hold)

    def consent_recipient(
        self, reads: Reads, principal: Principal, subject_id: uuid.UUID, purpose: str | None
    ) -> bool:
        """An active consent names the caller's organisation (for ``purpose``, if given)."""
        for grant in self.consents.active_consents(subject_id, self.clock(), reads):
            if principal.organization in grant.recipients and (
                purpose is None or purpose == grant.purpose
            ):
                return True
        return False

    def visible_to(
        self,
        reads: Reads,
        principal: Principal,
        subject_id: uuid.UUID,
        purpose: str | None = None,
    ) -> SubjectRef | None:
        """The subject, if ``principal`` may know it exists; ``None`` exactly as if missing."""
        return self.admitted(reads, principal, self.live(reads, subject_id), purpose)

    def admitted(
        self,
        reads: Reads,
        principal: Principal,
        subject: SubjectRef | None,
        purpose: str | None = None,
    ) -> SubjectRef | None:
        """``visible_to`` for a subject the caller already read (``live``'s answer)."""
        if subject is None:
            return None
        if subject.organization == principal.organization or self.consent_recipient(
            reads, principal, subject.id, purpose
        ):
            return subject
        return None


def hidden_subject_event(
    principal: Principal, subject_id: uuid.UUID, purpose: str | None = None
) -> AuditEvent:
    """The event of a lookup answered "no such subject" (missing or not the caller's)."""
    return AuditEvent.by(
        principal,
        EventAction.SUBJECT_LOOKUP,
        Outcome.DENY,
        subject_id=subject_id,
        purpose=purpose,
        reason=HIDDEN_REASON,
    )
