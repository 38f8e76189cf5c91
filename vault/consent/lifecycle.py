"""How consents end: withdrawal (by the subject at the kiosk, or recorded by staff) and expiry.

Expiry already counts at decision time without a row; recording it only makes
the history and the audit log say so. Nothing is cached: an ending takes
effect on the very next request.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from vault.audit.events import AuditEvent, AuditSink, Outcome
from vault.consent.core import NO_SUCH_CONSENT, ConsentCore
from vault.consent.model import Actor, categories_of, expired, withdrawal_reason
from vault.consent.tables import ConsentEnding, EndingKind
from vault.consent.views import ConsentRecord, ConsentStatus, load_consents
from vault.errors import Conflict, NotFound
from vault.vocabulary import Action, EventAction


def one_consent(session: Session, consent_id: uuid.UUID) -> ConsentRecord:
    found = load_consents(session, consent_id=consent_id)
    if not found:
        raise NotFound(NO_SUCH_CONSENT)
    return found[0]


class ConsentLifecycle(ConsentCore):
    """Withdrawal and expiry."""

    def withdraw(
        self, actor: Actor, consent_id: uuid.UUID, reason: str | None = None
    ) -> ConsentRecord:
        """End an active consent now (``consent.withdraw`` for staff; the subject may
        withdraw only their own). Effective for the very next request."""
        audit = self._need(self.audit, "audit log")
        now = self.clock()
        with self.db.read_session() as session:
            record = one_consent(session, consent_id)
            if actor.is_subject:
                if actor.subject_id != record.row.subject_id:
                    raise NotFound(NO_SUCH_CONSENT)
            else:
                self._record_gate(session, actor.staff_principal(), Action.WITHDRAW_CONSENT, record)
        status = record.status(now)
        if status is not ConsentStatus.ACTIVE:
            raise Conflict(f"The consent is already {status.value}.")
        code = withdrawal_reason(reason)
        audit.append(
            actor.event(
                EventAction.CONSENT_WITHDRAW,
                Outcome.ALLOW,
                subject_id=record.row.subject_id,
                target_id=consent_id,
                consent_id=consent_id,
                categories=categories_of([p for p in record.purposes if p.granted]),
                details={"reason": code, "by": actor.kind},
            )
        )
        ending = ConsentEnding(
            consent_id=consent_id,
            kind=EndingKind.WITHDRAWN.value,
            at=now,
            actor_id=actor.id,
            actor_kind=actor.kind,
            reason=code,
        )
        try:
            with self.db.session() as session:
                session.add(ending)
        except IntegrityError:
            raise Conflict("The consent has already ended.") from None
        return ConsentRecord(record.row, record.purposes, ending)

    def record_expiries(self, subject_id: uuid.UUID) -> int:
        """Write the ending (and audit event) of every consent of the subject past its expiry.

        Callers authorize first: this writes. Returns how many were recorded.
        """
        audit = self._need(self.audit, "audit log")
        now = self.clock()
        with self.db.read_session() as session:
            due = [r for r in load_consents(session, subject_id=subject_id) if expired(r, now)]
        if not due:
            return 0
        self._audit_expiries(audit, due)
        try:
            with self.db.session() as session:
                self._record_expiries(session, due)
        except IntegrityError:
            return 0  # recorded meanwhile by another request
        return len(due)

    @staticmethod
    def _audit_expiries(audit: AuditSink, due: Sequence[ConsentRecord]) -> None:
        for record in due:
            audit.append(
                AuditEvent.by(
                    None,
                    EventAction.CONSENT_EXPIRE,
                    Outcome.INFO,
                    subject_id=record.row.subject_id,
                    target_id=record.id,
                    consent_id=record.id,
                    details={"expired_at": record.row.expires_at.isoformat()},
                )
            )

    @staticmethod
    def _record_expiries(session: Session, due: Sequence[ConsentRecord]) -> None:
        for record in due:
            session.add(
                ConsentEnding(
                    consent_id=record.id,
                    kind=EndingKind.EXPIRED.value,
                    at=record.row.expires_at,
                    actor_kind="system",
                )
            )
