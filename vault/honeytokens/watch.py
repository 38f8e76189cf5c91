"""The hook the read, listing and search paths call: a touch of a decoy is recorded.

``HoneytokenWatch.touched(principal, subject_ids, via)`` appends one
``honeytoken.hit`` event per decoy among ``subject_ids`` (the alert rule
``honeytoken`` of ``vault.audit.alerts`` shows it on the dashboard) and, when
``VAULT_HONEYTOKEN_DISABLE_READER`` is set, disables the reader's account, which
ends every token and browser session it holds (``on_hit``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass

from sqlalchemy import bindparam, select

from vault.audit.events import AuditEvent, AuditSink, Outcome
from vault.cursor_reads import Reads
from vault.db import Database
from vault.honeytokens.models import Honeytoken
from vault.vocabulary import EventAction, Principal

__all__ = ["DECOY", "HONEYTOKENS", "HoneytokenWatch"]

HONEYTOKENS = Honeytoken.metadata.tables[Honeytoken.__tablename__]
log = logging.getLogger("vault.honeytokens")
# Built once: the record read asks it of every subject it reads, in its own transaction.
DECOY = select(HONEYTOKENS.c.subject_id).where(HONEYTOKENS.c.subject_id == bindparam("subject_id"))


@dataclass
class HoneytokenWatch:
    db: Database
    audit: AuditSink
    # Called with the reader's account id after a hit (disable the account), or None.
    on_hit: Callable[[uuid.UUID], object] | None = None

    def decoys_among(self, subject_ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
        if not subject_ids:
            return set()
        query = select(HONEYTOKENS.c.subject_id).where(
            HONEYTOKENS.c.subject_id.in_(list(subject_ids))
        )
        with self.db.read_session() as session:
            return {uuid.UUID(str(found)) for found in session.execute(query).scalars()}

    @staticmethod
    def is_decoy(reads: Reads, subject_id: uuid.UUID) -> bool:
        """Whether ``subject_id`` is a decoy, read in the caller's read transaction."""
        return reads.execute(DECOY, {"subject_id": subject_id}).first() is not None

    def touched(self, principal: Principal, subject_ids: Collection[uuid.UUID], via: str) -> None:
        """Record a hit for each decoy among ``subject_ids`` touched by ``principal``."""
        self.hit(principal, self.decoys_among(subject_ids), via)

    def hit(self, principal: Principal, decoys: Collection[uuid.UUID], via: str) -> None:
        """Record a hit for each of ``decoys`` (known decoys) touched by ``principal``."""
        for decoy in sorted(decoys):
            self.audit.append(
                AuditEvent.by(
                    principal,
                    EventAction.HONEYTOKEN_HIT,
                    Outcome.INFO,
                    subject_id=decoy,
                    details={"via": via},
                )
            )
        if decoys and self.on_hit is not None:
            log.warning("honeytoken touched; disabling the reader's account %s", principal.id)
            self.on_hit(principal.id)
