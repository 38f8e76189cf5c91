"""A subject's custody status and legal hold, and what staff may see of them."""

from __future__ import annotations

import uuid

from vault.audit.events import AuditEvent, Outcome
from vault.errors import InvalidInput, NotFound
from vault.subjects.gate import SubjectsBase
from vault.subjects.models import Subject, SubjectStatus
from vault.subjects.visibility import SubjectRef
from vault.vocabulary import Action, EventAction, Principal

SETTABLE_STATUSES = ", ".join(s.value for s in SubjectStatus if s is not SubjectStatus.ERASED)


class Custody(SubjectsBase):
    def view(self, principal: Principal, subject_id: uuid.UUID) -> SubjectRef:
        """The subject's organisation, status and hold (no identity field)."""
        with self.db.read_session() as session:
            return self.gate(session, principal, Action.VIEW_SUBJECT, subject_id)

    def _write(self, subject_id: uuid.UUID, status: str | None, hold: bool | None) -> SubjectRef:
        with self.db.session() as session:
            subject = session.get(Subject, subject_id)
            if subject is None or subject.erased_at is not None:
                raise NotFound("No such subject.")  # erased since the gate
            if status is not None:
                subject.status = status
            if hold is not None:
                subject.legal_hold = hold
            return SubjectRef(subject.id, subject.organization, subject.status, subject.legal_hold)

    def set_status(self, principal: Principal, subject_id: uuid.UUID, status: str) -> SubjectRef:
        """Change the custody status (officers of the holding organisation, by policy)."""
        with self.db.read_session() as session:
            self.gate(session, principal, Action.SET_SUBJECT_STATUS, subject_id)
        try:
            new_status = SubjectStatus(status)
        except ValueError:
            raise InvalidInput(f"status: must be one of {SETTABLE_STATUSES}") from None
        if new_status is SubjectStatus.ERASED:
            raise InvalidInput("status: erasure goes through DELETE /v1/subjects/{id}")
        self.audit.append(
            AuditEvent.by(
                principal,
                EventAction.SUBJECT_STATUS,
                Outcome.ALLOW,
                subject_id=subject_id,
                details={"status": new_status.value},
            )
        )
        return self._write(subject_id, new_status.value, None)

    def set_legal_hold(self, principal: Principal, subject_id: uuid.UUID, hold: bool) -> SubjectRef:
        """Set or lift a legal hold (compliance officers of the holding organisation)."""
        with self.db.read_session() as session:
            self.gate(session, principal, Action.SET_LEGAL_HOLD, subject_id)
        self.audit.append(
            AuditEvent.by(
                principal,
                EventAction.SUBJECT_LEGAL_HOLD,
                Outcome.ALLOW,
                subject_id=subject_id,
                details={"hold": hold},
            )
        )
        return self._write(subject_id, None, hold)
