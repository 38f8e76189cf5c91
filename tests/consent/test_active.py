"""``active_consents``: what the access engine sees of a subject's consents."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from tests.consent.conftest import T0, add_subject
from vault.audit.events import AuditEvent, Outcome
from vault.audit.log import AuditLog
from vault.consent.attestation import expiry_detail
from vault.consent.service import ConsentService
from vault.consent.tables import Consent, ConsentEnding, ConsentPurpose
from vault.db import Database
from vault.vocabulary import Category


def attest(db: Database, consent: Consent, purposes: dict[str, bool]) -> None:
    """The audit events the service writes when it signs (what decisions check against)."""
    log = AuditLog(db.url)
    try:
        common = {"subject_id": consent.subject_id, "consent_id": consent.id}
        log.append(
            AuditEvent(
                action="consent.sign",
                outcome=Outcome.ALLOW,
                target_id=consent.id,
                details={"expires_at": expiry_detail(consent.expires_at)},
                **common,
            )
        )
        for code, granted in purposes.items():
            if granted:
                log.append(
                    AuditEvent(
                        action="consent.grant",
                        outcome=Outcome.INFO,
                        purpose=code,
                        categories=("program", "psychological"),
                        details={"recipients": "rutan-jakpus"},
                        **common,
                    )
                )
    finally:
        log.close()


def insert_consent(
    db: Database,
    subject_id: uuid.UUID,
    purposes: dict[str, bool],
    *,
    signed_at: datetime = T0,
    days: int = 365,
) -> uuid.UUID:
    consent = Consent(
        subject_id=subject_id,
        form_id="rehabilitation",
        form_version=1,
        language="id",
        text_sha256="0" * 64,
        signed_at=signed_at,
        expires_at=signed_at + timedelta(days=days),
        witness_id=uuid.uuid4(),
        witness_org="rutan-jakpus",
        method="pin",
        signed_by="subject",
        receipt_id=uuid.uuid4(),
        receipt_jws="x.y.z",
    )
    attest(db, consent, purposes)
    with db.session() as session:
        session.add(consent)
        session.flush()
        for code, granted in purposes.items():
            session.add(
                ConsentPurpose(
                    consent_id=consent.id,
                    subject_id=subject_id,
                    purpose=code,
                    granted=granted,
                    categories="psychological,program",
                    recipients="rutan-jakpus",
                )
            )
    return consent.id


def test_granted_purposes_become_grants(consents: ConsentService, db: Database) -> None:
    """Each granted purpose is one grant with its categories and recipients; refusals are absent."""
    subject = add_subject(db)
    cid = insert_consent(db, subject, {"counseling": True, "statistics": False})
    grants = consents.active_consents(subject, T0 + timedelta(hours=1))
    assert [(g.consent_id, g.purpose) for g in grants] == [(cid, "counseling")]
    assert grants[0].categories == {Category.PSYCHOLOGICAL, Category.PROGRAM}
    assert grants[0].recipients == {"rutan-jakpus"}
    assert grants[0].expires_at == T0 + timedelta(days=365)


def test_expired_and_ended_consents_give_no_grant(consents: ConsentService, db: Database) -> None:
    """Expiry is judged at the time asked; a withdrawal ends the grant from its time on."""
    subject = add_subject(db)
    cid = insert_consent(db, subject, {"counseling": True}, days=1)
    assert consents.active_consents(subject, T0 + timedelta(hours=23))
    assert consents.active_consents(subject, T0 + timedelta(days=1)) == []
    other = add_subject(db)
    cid = insert_consent(db, other, {"counseling": True})
    with db.session() as session:
        session.add(
            ConsentEnding(
                consent_id=cid, kind="withdrawn", at=T0 + timedelta(hours=2), actor_kind="subject"
            )
        )
    assert consents.active_consents(other, T0 + timedelta(hours=1))
    assert consents.active_consents(other, T0 + timedelta(hours=2)) == []
    assert consents.active_consents(subject, T0 - timedelta(seconds=1)) == []
