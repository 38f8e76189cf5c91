"""The sender's withdrawal notices: signed once, kept, and polled by their recipient.

When a handed-over consent no longer allows the handover (withdrawn or
expired), the sender signs one notice per recipient (a compact JWS of
``vault-handover-withdrawal/1``), appends a ``handover.notice`` audit event and
keeps the notice under that event's sequence number. ``publish`` does this for
every notice due (``vault handover notices``); ``poll`` does it too, then
answers the notices addressed to the caller's own organisation after a cursor
(``GET /v1/handover/notices?after=N``). Another organisation's notices are never
listed: the organisation is the caller's, not a parameter.

Signing is one signer at a time across every ``vault`` process on the store,
from finding what is due to keeping the notice: otherwise two workers sign the
same notice (two audit events, one kept), or one keeps a notice under a lower
cursor than one a recipient has already polled past. On PostgreSQL a
transaction-scoped advisory lock; on SQLite a lock on a file beside the
database (its write lock cannot be held across the audit append, which takes it
itself).
"""

from __future__ import annotations

import fcntl
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from vault.audit.events import AuditEvent, AuditSink, Outcome
from vault.consent.service import ConsentService
from vault.crypto.signing_keys import CurrentSigner
from vault.db import Database
from vault.errors import Forbidden
from vault.handover.checks import HANDOVER_PURPOSE
from vault.handover.models import HandoverExport, HandoverNoticeSent
from vault.vocabulary import Action, EventAction, OperationFacts, Principal

__all__ = ["MAX_POLL", "NOTICE_LOCK_KEY", "NOTICE_TYPE", "NoticeOutbox", "one_signer"]

NOTICE_TYPE = "vault-handover-withdrawal/1"
MAX_POLL = 500
# One signer of notices at a time in this process: cursors only grow as notices are kept.
_SIGNING = threading.Lock()
# ... and across processes: the PostgreSQL advisory lock of notice signing.
NOTICE_LOCK_KEY = 0x7661756C74_4E  # "vault" + "N"


@contextmanager
def one_signer(db: Database) -> Iterator[None]:
    """No other signer of notices, in this process or any other on the store, until the
    block ends."""
    with _SIGNING:
        if not db.is_sqlite:
            with db.engine.begin() as connection:  # the lock ends with this transaction
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": NOTICE_LOCK_KEY}
                )
                yield
            return
        path = db.engine.url.database
        if not path or path == ":memory:":
            yield  # a store no other process can open
            return
        with open(f"{path}.notices.lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class _Due:
    consent_id: uuid.UUID
    recipient: str
    subject_id: uuid.UUID
    sender: str
    bundle_ids: tuple[str, ...]


@dataclass
class NoticeOutbox:
    db: Database
    clock: Callable[[], datetime]
    audit: AuditSink
    signer: CurrentSigner
    consents: ConsentService
    policy: Any  # vault.access.engine.PolicyEngine (authorize)

    def _due(self, recipient: str | None) -> list[_Due]:
        """Handed-over consents that no longer allow the handover and have no notice yet."""
        now = self.clock()
        with self.db.read_session() as session:
            query = select(HandoverExport).order_by(col(HandoverExport.exported_at))
            if recipient is not None:
                query = query.where(col(HandoverExport.recipient) == recipient)
            exports = [
                (e.consent_id, e.recipient, e.subject_id, e.sender, str(e.bundle_id))
                for e in session.exec(query).all()
            ]
            sent_query = select(HandoverNoticeSent.notice_id)
            if recipient is not None:
                sent_query = sent_query.where(col(HandoverNoticeSent.recipient) == recipient)
            sent = set(session.exec(sent_query).all())
        grouped: dict[tuple[uuid.UUID, str], list[tuple[uuid.UUID, str, str]]] = {}
        for consent_id, to, subject_id, sender, bundle_id in exports:
            grouped.setdefault((consent_id, to), []).append((subject_id, sender, bundle_id))
        due = []
        for (consent_id, to), bundles in grouped.items():
            if uuid.uuid5(consent_id, to) in sent:
                continue
            subject_id, sender, _ = bundles[0]
            still = any(
                g.consent_id == consent_id and g.purpose == HANDOVER_PURPOSE and to in g.recipients
                for g in self.consents.active_consents(subject_id, now)
            )
            if not still:
                bundle_ids = tuple(sorted(b for _, _, b in bundles))
                due.append(_Due(consent_id, to, subject_id, sender, bundle_ids))
        return due

    def _sign_due(self, recipient: str | None) -> None:
        """Sign, audit and keep every notice due (for ``recipient``, or for all)."""
        with one_signer(self.db):
            for due in self._due(recipient):
                now = self.clock()
                notice_id = uuid.uuid5(due.consent_id, due.recipient)
                token = self.signer.sign_jws(
                    {
                        "type": NOTICE_TYPE,
                        "notice_id": str(notice_id),
                        "sender": due.sender,
                        "recipient": due.recipient,
                        "consent_id": str(due.consent_id),
                        "bundle_ids": list(due.bundle_ids),
                        "iat": _iso(now),
                    }
                )
                # Audit first (its sequence number is the cursor), then keep the notice.
                seq = self.audit.append(
                    AuditEvent.by(
                        None,
                        EventAction.HANDOVER_NOTICE,
                        Outcome.INFO,
                        subject_id=due.subject_id,
                        consent_id=due.consent_id,
                        details={"recipient": due.recipient, "notice_id": str(notice_id)},
                    )
                )
                try:
                    with self.db.session() as session:
                        session.add(
                            HandoverNoticeSent(
                                notice_id=notice_id,
                                seq=seq,
                                recipient=due.recipient,
                                consent_id=due.consent_id,
                                subject_id=due.subject_id,
                                token=token,
                                issued_at=now,
                            )
                        )
                except IntegrityError:
                    continue  # another process kept this notice first: theirs stands

    def publish(self, recipient: str | None = None) -> list[str]:
        """Every notice kept (for ``recipient``, or all), signing those due first."""
        self._sign_due(recipient)
        with self.db.read_session() as session:
            query = select(HandoverNoticeSent.token).order_by(col(HandoverNoticeSent.seq))
            if recipient is not None:
                query = query.where(col(HandoverNoticeSent.recipient) == recipient)
            return list(session.exec(query).all())

    def poll(self, principal: Principal, after: int, limit: int = MAX_POLL) -> dict[str, Any]:
        """The notices addressed to the caller's organisation whose cursor is above ``after``."""
        organization = principal.organization
        decision = self.policy.authorize(
            principal, Action.HANDOVER_POLL, OperationFacts(target_org=organization)
        )
        self.audit.append(
            AuditEvent.by(
                principal,
                EventAction.HANDOVER_POLL,
                Outcome.ALLOW if decision.allowed else Outcome.DENY,
                policy_ids=decision.policy_ids,
                reason=None if decision.allowed else decision.reason,
                details={"after": after},
            )
        )
        if not decision.allowed:
            raise Forbidden(f"Not allowed to poll withdrawal notices: {decision.reason}")
        self._sign_due(organization)
        with self.db.read_session() as session:
            rows = session.exec(
                select(HandoverNoticeSent.seq, HandoverNoticeSent.token)
                .where(
                    col(HandoverNoticeSent.recipient) == organization,
                    col(HandoverNoticeSent.seq) > after,
                )
                .order_by(col(HandoverNoticeSent.seq))
                .limit(min(max(limit, 1), MAX_POLL))
            ).all()
        notices = [{"cursor": int(seq), "notice": token} for seq, token in rows]
        return {"notices": notices, "next": notices[-1]["cursor"] if notices else after}
