"""Cross-check of the consent tables against the audit log.

Consents, their purposes and their endings are plain rows; the audit log is
hash-chained. Someone with write access to the database could delete a
withdrawal or turn a refused purpose into a granted one, and reads would then
be allowed. This check finds every such difference: each withdrawal recorded
in the (verified) audit log must still end its consent, and each purpose the
audit log recorded as refused must still be refused.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlmodel import col, select

from vault.audit.queries import AuditFilters, AuditQueries
from vault.consent.tables import ConsentEnding, ConsentPurpose, EndingKind
from vault.db import Database


@dataclass(frozen=True)
class ConsentMismatch:
    consent_id: uuid.UUID
    seq: int  # the audit event the tables contradict
    problem: str


def check_consents_against_audit(db: Database) -> list[ConsentMismatch]:
    """Every place where the consent tables contradict the audit log."""
    queries = AuditQueries(db)
    withdrawn: dict[uuid.UUID, int] = {}
    refused: dict[tuple[uuid.UUID, str], int] = {}
    for event in queries.iter_events(AuditFilters(action="consent.withdraw")):
        if event.get("consent_id"):
            withdrawn[uuid.UUID(str(event["consent_id"]))] = int(event["seq"])
    for event in queries.iter_events(AuditFilters(action="consent.refuse")):
        if event.get("target_id") and event.get("purpose"):
            key = (uuid.UUID(str(event["target_id"])), str(event["purpose"]))
            refused[key] = int(event["seq"])
    mismatches: list[ConsentMismatch] = []
    with db.read_session() as session:
        ended = {
            row.consent_id: row.kind
            for row in session.exec(
                select(ConsentEnding).where(col(ConsentEnding.consent_id).in_(list(withdrawn)))
            )
        }
        granted = {
            (row.consent_id, row.purpose)
            for row in session.exec(
                select(ConsentPurpose).where(
                    col(ConsentPurpose.consent_id).in_({cid for cid, _ in refused}),
                    col(ConsentPurpose.granted).is_(True),
                )
            )
        }
    for consent_id, seq in sorted(withdrawn.items(), key=lambda item: item[1]):
        if ended.get(consent_id) != EndingKind.WITHDRAWN.value:
            mismatches.append(
                ConsentMismatch(
                    consent_id, seq, "withdrawn in the audit log, but not ended in the tables"
                )
            )
    for (consent_id, purpose), seq in sorted(refused.items(), key=lambda item: item[1]):
        if (consent_id, purpose) in granted:
            mismatches.append(
                ConsentMismatch(
                    consent_id,
                    seq,
                    f"purpose {purpose} refused in the audit log, but granted in the tables",
                )
            )
    return sorted(mismatches, key=lambda mismatch: mismatch.seq)
