"""Erasure: a compliance officer's one-time approval, then an administrator's erasure.

Two people: the approver and the eraser must be two distinct people
(``distinct_people``: not the same account, neither created the other); the
policy refuses the erasure otherwise. Erasure is a crypto-shred: the subject's
data key and every ciphertext are deleted, the audit trail stays.

Beside the records, whatever else names the subject and is not audit is
deleted or emptied in the same transaction: the consent receipts (a signed
JWS naming the subject), the guardian's enrolment (identity sealed under the
shredded key, PIN hash), the PIN hash and its failure counters and block,
the kiosk sessions bound to the subject, and the blind-index digests. The
consent rows themselves stay (form, version, purposes, dates: the history of
what was allowed, which the audit log refers to). After the commit the
storage is made to drop the old bytes
(``purge_freed_pages``: a truncating WAL checkpoint on SQLite, ``VACUUM`` of
the touched tables on PostgreSQL); docs/keys.md says what still stays.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import column, delete, select, table, update
from sqlmodel import Session

from vault.audit.events import AuditEvent, Outcome
from vault.errors import Conflict, Forbidden, NotFound
from vault.keys.service import purge_freed_pages
from vault.subjects.gate import SubjectsBase
from vault.subjects.models import ErasureApproval, Subject, SubjectStatus
from vault.vocabulary import Action, EventAction, Principal

# Tables of other capabilities, named rather than imported (no package cycle):
# erasure only empties or deletes what they wrote about the subject.
_CONSENTS = table("consents", column("subject_id"), column("receipt_jws"))
_PIN_FAILURES = table("consent_pin_failures", column("subject_id"))
_PIN_RESETS = table("consent_pin_resets", column("subject_id"))
_PIN_BLOCKS = table("consent_pin_blocks", column("subject_id"))
_GUARDIANS = table("consent_guardians", column("id"), column("subject_id"))
_WEB_SESSIONS = table("web_sessions", column("subject_id"))
# A receipt is NOT NULL: an erased one is this marker, which names no one.
ERASED_RECEIPT = "erased"
# Every table a shred writes to, vacuumed on PostgreSQL after the commit. The small
# ones that hold the key or identify the subject are rewritten (VACUUM FULL: no old
# byte stays in their pages); the large ones holding ciphertexts under the shredded
# key are vacuumed (their bytes stay in free space until reused; docs/keys.md).
REWRITTEN_TABLES = (
    "subject_keys",
    "subjects",
    "consents",
    "consent_pin_failures",
    "consent_pin_resets",
    "consent_pin_blocks",
    "consent_guardians",
    "web_sessions",
)
TOUCHED_TABLES = (*REWRITTEN_TABLES, "records", "record_fields")


class Erasure(SubjectsBase):
    def approve_erasure(
        self, principal: Principal, subject_id: uuid.UUID, valid_for: timedelta
    ) -> tuple[uuid.UUID, datetime]:
        """The second person of an erasure: a compliance officer's one-time approval."""
        with self.db.read_session() as session:
            subject = self.gate(session, principal, Action.APPROVE_ERASURE, subject_id)
        if subject.legal_hold:
            raise Conflict("The subject is under a legal hold; erasure cannot be approved.")
        approval = ErasureApproval(
            subject_id=subject_id, approver_id=principal.id, expires_at=self.clock() + valid_for
        )
        self.audit.append(
            AuditEvent.by(
                principal,
                EventAction.SUBJECT_ERASURE_APPROVE,
                Outcome.ALLOW,
                subject_id=subject_id,
                target_id=approval.id,
            )
        )
        with self.db.session() as session:
            if self._live(session, subject_id) is None:
                raise NotFound("No such subject.")
            session.add(approval)
        return approval.id, approval.expires_at

    @staticmethod
    def _live(session: Session, subject_id: uuid.UUID) -> Subject | None:
        subject = session.get(Subject, subject_id)
        return subject if subject is not None and subject.erased_at is None else None

    def _problem(
        self, session: Session, subject_id: uuid.UUID, approval: ErasureApproval | None
    ) -> str | None:
        if approval is None:
            return "no approval with that id for this subject"
        if approval.used_at is not None:
            return "the approval was already used"
        if approval.expires_at <= self.clock():
            return "the approval has expired"
        subject = self._live(session, subject_id)
        if subject is not None and subject.legal_hold:
            return "the subject is under a legal hold"
        return None

    @staticmethod
    def _approval(
        session: Session, subject_id: uuid.UUID, approval_id: uuid.UUID
    ) -> ErasureApproval | None:
        approval = session.get(ErasureApproval, approval_id)
        return approval if approval is not None and approval.subject_id == subject_id else None

    def erase(self, principal: Principal, subject_id: uuid.UUID, approval_id: uuid.UUID) -> None:
        """An administrator erases a subject with another person's unused approval."""
        with self.db.read_session() as session:
            approval = self._approval(session, subject_id, approval_id)
            approver = approval.approver_id if approval is not None else None
            self.gate(
                session,
                principal,
                Action.ERASE_SUBJECT,
                subject_id,
                on_self=approver == principal.id,
                created_by_principal=approver is not None
                and approver != principal.id
                and not self.distinct_people(approver, principal.id),
            )
            problem = self._problem(session, subject_id, approval)
        if problem is not None:
            self.audit.append(
                AuditEvent.by(
                    principal,
                    EventAction.SUBJECT_ERASE,
                    Outcome.DENY,
                    subject_id=subject_id,
                    target_id=approval_id,
                    reason=problem,
                )
            )
            if "legal hold" in problem:
                raise Conflict(f"Erasure refused: {problem}.")
            raise Forbidden(f"Erasure refused: {problem}.")
        self.audit.append(
            AuditEvent.by(
                principal,
                EventAction.SUBJECT_ERASE,
                Outcome.ALLOW,
                subject_id=subject_id,
                target_id=approval_id,
                details={"approver_id": str(approver)},
            )
        )
        with self.db.session() as session:
            # Checked again under the write lock: the approval may have been used meanwhile.
            approval = self._approval(session, subject_id, approval_id)
            problem = self._problem(session, subject_id, approval)
            subject = self._live(session, subject_id)
            if problem is not None or approval is None or subject is None:
                raise Conflict(f"Erasure refused: {problem or 'the subject is already erased'}.")
            approval.used_at = self.clock()
            self._shred(session, subject)
        # secure_delete zeroed the rows in the database file; the WAL still holds the old
        # pages until a checkpoint, so push it through now.
        purge_freed_pages(self.db, TOUCHED_TABLES, rewrite=REWRITTEN_TABLES)

    def _shred(self, session: Session, subject: Subject) -> None:
        """Crypto-shred: delete the wrapped data key and every ciphertext; keep the audit trail."""
        self.records.delete_fields(session, subject.id)
        self.subject_keys.shred(session, subject.id)
        subject.erased_at = self.clock()
        subject.status = SubjectStatus.ERASED.value
        subject.pin_hash = None
        # The digests are not reversible, but they would still link a later
        # registration of the same person to this erased one.
        subject.nik_index = "erased"
        subject.register_index = "erased"
        session.execute(
            update(_CONSENTS)
            .where(_CONSENTS.c.subject_id == subject.id)
            .values(receipt_jws=ERASED_RECEIPT)
        )
        # The guardian's identity is under the shredded key already; the rows, their PIN
        # hashes and their wrong-PIN counters go too.
        guardians = select(_GUARDIANS.c.id).where(_GUARDIANS.c.subject_id == subject.id)
        session.execute(delete(_PIN_FAILURES).where(_PIN_FAILURES.c.subject_id.in_(guardians)))
        session.execute(delete(_GUARDIANS).where(_GUARDIANS.c.subject_id == subject.id))
        session.execute(delete(_PIN_BLOCKS).where(_PIN_BLOCKS.c.subject_id == subject.id))
        session.execute(delete(_PIN_FAILURES).where(_PIN_FAILURES.c.subject_id == subject.id))
        session.execute(delete(_PIN_RESETS).where(_PIN_RESETS.c.subject_id == subject.id))
        session.execute(delete(_WEB_SESSIONS).where(_WEB_SESSIONS.c.subject_id == subject.id))
