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

from sqlalchemy import select as core_select
from sqlalchemy import true
from sqlmodel import col, select

from vault.audit.attesting import subject_events
from vault.audit.queries import AuditFilters, AuditQueries
from vault.audit.scope import SUBJECTS
from vault.consent.attestation import Attestations
from vault.consent.tables import Consent, ConsentEnding, ConsentPurpose, EndingKind
from vault.consent.views import stored_grant
from vault.db import Database


@dataclass(frozen=True)
class ConsentMismatch:
    consent_id: uuid.UUID
    seq: int  # the audit event the tables contradict
    problem: str


def check_consents_against_audit(
    db: Database, organization: str | None = None
) -> list[ConsentMismatch]:
    """Every place where the consent tables contradict the audit log (among the events of
    ``organization`` only, when it is given: the dashboard's, ``vault.audit.scope``)."""
    queries = AuditQueries(db)
    withdrawn: dict[uuid.UUID, int] = {}
    refused: dict[tuple[uuid.UUID, str], int] = {}
    withdrawals = AuditFilters(organization=organization, action="consent.withdraw")
    refusals = AuditFilters(organization=organization, action="consent.refuse")
    for event in queries.iter_events(withdrawals):
        if event.get("consent_id"):
            withdrawn[uuid.UUID(str(event["consent_id"]))] = int(event["seq"])
    for event in queries.iter_events(refusals):
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
    # A consent already named above is not named again for the same change.
    named = {mismatch.consent_id for mismatch in mismatches}
    mismatches += [m for m in _unattested_grants(db, organization) if m.consent_id not in named]
    return sorted(mismatches, key=lambda mismatch: (mismatch.seq, str(mismatch.consent_id)))


def _unattested_grants(db: Database, organization: str | None) -> list[ConsentMismatch]:
    """Granted purposes of consents the tables hold as not ended, without an exact attestation
    (of subjects ``organization`` holds, when it is given)."""
    ended = core_select(col(ConsentEnding.consent_id))
    found: list[ConsentMismatch] = []
    scope = (
        col(Consent.subject_id).in_(
            core_select(SUBJECTS.c.id).where(SUBJECTS.c.organization == organization)
        )
        if organization is not None
        else true()
    )
    with db.read_session() as session:
        rows = session.execute(
            core_select(
                col(Consent.id),
                col(Consent.subject_id),
                col(Consent.expires_at),
                col(ConsentPurpose.purpose),
                col(ConsentPurpose.categories),
                col(ConsentPurpose.recipients),
            )
            .join(ConsentPurpose, col(ConsentPurpose.consent_id) == col(Consent.id))
            .where(col(ConsentPurpose.granted).is_(True), col(Consent.id).not_in(ended), scope)
            .order_by(col(Consent.subject_id))
        ).all()
        by_subject: dict[uuid.UUID, Attestations] = {}
        for consent_id, subject_id, expires_at, purpose, categories, recipients in rows:
            if subject_id not in by_subject:
                events = subject_events(session, subject_id)
                by_subject[subject_id] = Attestations.from_events(events)
            grant = stored_grant(
                consent_id, subject_id, purpose, categories, recipients, expires_at
            )
            problem = by_subject[subject_id].problem(grant)
            if problem is not None:
                # seq 0: no single event is contradicted; the signing's events are missing
                # or say something else.
                found.append(ConsentMismatch(consent_id, 0, f"not attested: {problem}"))
    return found
