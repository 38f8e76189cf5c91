"""Withdrawal that travels: notices the sender signs, the recipient verifies and obeys.

The sender (``WithdrawalNotices.issue`` and ``poll``, through
``vault.handover.outbox``) signs one notice per handed-over consent whose
``handover_kemensos`` grant is no longer active (withdrawn or expired): a
compact JWS of ``vault-handover-withdrawal/1``. The recipient
(``receive``) verifies it against the sender's published keys, records it,
and from then on ``read_imported`` refuses every read under that consent.
"""

from __future__ import annotations

import binascii
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from vault.audit.events import AuditEvent, AuditSink, Outcome
from vault.consent.service import ConsentService
from vault.crypto.signing import b64url_decode, verify_jws
from vault.crypto.signing_keys import CurrentSigner
from vault.db import Database
from vault.errors import Forbidden, InvalidInput, NotFound, SignatureInvalid
from vault.handover.models import HandoverImport, HandoverWithdrawal
from vault.handover.outbox import MAX_POLL, NOTICE_TYPE, NoticeOutbox
from vault.handover.service import HANDOVER_PURPOSE, HandoverService
from vault.records.fieldcrypt import open_record
from vault.records.rows import ciphertexts, record_rows
from vault.vocabulary import Action, EventAction, OperationFacts, Principal

__all__ = ["NOTICE_TYPE", "WithdrawalNotices"]

MAX_NOTICE_CHARS = 16 * 1024


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass
class WithdrawalNotices:
    db: Database
    clock: Callable[[], datetime]
    audit: AuditSink
    signer: CurrentSigner
    consents: ConsentService
    handover: HandoverService
    # Who is on a subject's care team (vault.access.facts.AccessFacts.is_assigned);
    # None: nobody is, and no handed-over record is read.
    assignments: Any = None

    outbox: NoticeOutbox = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.outbox = NoticeOutbox(
            db=self.db,
            clock=self.clock,
            audit=self.audit,
            signer=self.signer,
            consents=self.consents,
            policy=self.handover.policy,
        )

    # -- the sender ----------------------------------------------------------------

    def issue(self, recipient: str | None = None) -> list[str]:
        """Every withdrawal notice (for ``recipient``, or all), signing those due first."""
        return self.outbox.publish(recipient)

    def poll(self, principal: Principal, after: int, limit: int = MAX_POLL) -> dict[str, Any]:
        """The notices addressed to the caller's organisation after the cursor ``after``."""
        return self.outbox.poll(principal, after, limit)

    # -- the recipient -------------------------------------------------------------

    def receive(self, principal: Principal | None, token: str) -> dict[str, str]:
        """Verify a withdrawal notice and record it: reads under its consent stop now."""
        if principal is not None:
            decision = self.handover.policy.authorize(
                principal,
                Action.HANDOVER_IMPORT,
                OperationFacts(target_org=principal.organization),
            )
            if not decision.allowed:
                raise Forbidden(f"Not allowed to receive withdrawal notices: {decision.reason}")
        if not isinstance(token, str) or len(token) > MAX_NOTICE_CHARS:
            raise InvalidInput("notice: not a withdrawal notice")
        consent_id, sender = self._claimed(token)
        with self.db.read_session() as session:
            imported = _plain(
                session.exec(
                    select(HandoverImport).where(col(HandoverImport.consent_id) == consent_id)
                ).first()
            )
            partner = self.handover.partner(session, sender) if imported else None
        if imported is None or partner is None or imported.sender != sender:
            raise NotFound("No bundle under that consent was imported from that sender.")
        if principal is not None and principal.organization != _organization_of(self, imported):
            raise NotFound("No bundle under that consent was imported from that sender.")
        try:
            payload = verify_jws(token, partner.signing_keys)
        except SignatureInvalid:
            raise InvalidInput(
                "notice: the signature does not verify against the sender's keys"
            ) from None
        if payload.get("type") != NOTICE_TYPE or payload.get("consent_id") != str(consent_id):
            raise InvalidInput("notice: not a withdrawal notice")
        now = self.clock()
        with self.db.session() as session:
            known = session.exec(
                select(HandoverWithdrawal).where(col(HandoverWithdrawal.consent_id) == consent_id)
            ).first()
            if known is None:
                session.add(
                    HandoverWithdrawal(consent_id=consent_id, sender=sender, withdrawn_at=now)
                )
        self.audit.append(
            AuditEvent.by(
                principal,
                EventAction.HANDOVER_WITHDRAWAL,
                Outcome.INFO,
                subject_id=imported.subject_id,
                consent_id=consent_id,
                details={"sender": sender, "already_known": known is not None},
            )
        )
        return {"consent_id": str(consent_id), "subject_id": str(imported.subject_id)}

    @staticmethod
    def _claimed(token: str) -> tuple[uuid.UUID, str]:
        """The consent and sender a notice claims, read before its signature is checked
        (only to find the keys that must verify it)."""
        try:
            body = json.loads(b64url_decode(token.split(".")[1]))
            return uuid.UUID(str(body["consent_id"])), _sender_of(body)
        except (IndexError, KeyError, ValueError, TypeError, binascii.Error):
            raise InvalidInput("notice: not a withdrawal notice") from None

    # -- reading what was handed over ----------------------------------------------

    def read_imported(self, principal: Principal, subject_id: uuid.UUID) -> dict[str, Any]:
        """The records handed over for a subject, while the sender's consent stands."""
        with self.db.read_session() as session:
            assigned = self.assignments is not None and bool(
                self.assignments.is_assigned(session, principal.id, subject_id)
            )
            subject = self.handover.subjects.gate(
                session, principal, Action.HANDOVER_READ, subject_id, assigned=assigned
            )
            imported = _plain(
                session.exec(
                    select(HandoverImport).where(col(HandoverImport.subject_id) == subject_id)
                ).first()
            )
        if imported is None:
            raise NotFound("No such subject.")
        ended = None
        if self.handover.withdrawn(imported.consent_id):
            ended = "the subject withdrew the handover consent"
        elif imported.consent_expires_at <= self.clock():
            ended = "the handover consent expired"
        if ended is not None:
            self.audit.append(
                AuditEvent.by(
                    principal,
                    EventAction.HANDOVER_READ,
                    Outcome.DENY,
                    subject_id=subject_id,
                    consent_id=imported.consent_id,
                    reason="the subject withdrew the handover consent",
                )
            )
            raise Forbidden(
                "The subject withdrew the consent these records were handed over under."
            )
        self.audit.append(
            AuditEvent.by(
                principal,
                EventAction.HANDOVER_READ,
                Outcome.ALLOW,
                subject_id=subject_id,
                consent_id=imported.consent_id,
                purpose=HANDOVER_PURPOSE,
            )
        )
        records = []
        with self.db.read_session() as session:
            dek = self.handover.subject_keys.data_key(session, subject_id)
            for record in record_rows(session, subject_id):
                if record.superseded_at is not None:
                    continue
                stored = ciphertexts(session, record.id)
                fields = open_record(dek, subject_id, record, stored)
                records.append(
                    {"id": str(record.id), "type": record.record_type, "fields": dict(fields)}
                )
        return {
            "subject_id": str(subject.id),
            "sender": imported.sender,
            "consent_id": str(imported.consent_id),
            "bundle_id": str(imported.bundle_id),
            "records": records,
        }


@dataclass(frozen=True)
class _Imported:
    bundle_id: uuid.UUID
    sender: str
    consent_id: uuid.UUID
    subject_id: uuid.UUID
    consent_expires_at: datetime


def _plain(row: HandoverImport | None) -> _Imported | None:
    """The row's values, read while its session is open."""
    if row is None:
        return None
    return _Imported(
        row.bundle_id, row.sender, row.consent_id, row.subject_id, row.consent_expires_at
    )


def _sender_of(body: dict[str, Any]) -> str:
    sender = body.get("sender")
    if not isinstance(sender, str) or not sender:
        raise ValueError("sender")
    return sender


def _organization_of(notices: WithdrawalNotices, imported: _Imported) -> str:
    with notices.db.read_session() as session:
        ref = notices.handover.subjects.visibility.live(session, imported.subject_id)
    return ref.organization if ref is not None else ""
