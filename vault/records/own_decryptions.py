"""The decryptions that are not a caller's record read: the subject's own export,
and identity fields the vault needs for its own rules and jobs.

A caller's read is ``vault.records.reading``; these three never answer a staff
member. The export answers the subject's own authenticated kiosk session, and
the identity fields (the date of birth the consent rules on minors need, the
names ``vault keys rebuild-index`` re-indexes) never leave the vault.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlmodel import Session

from vault.audit.events import AuditEvent, Outcome
from vault.audit.log import AuditLog
from vault.db import Database
from vault.errors import NotFound
from vault.records.fieldcrypt import open_record
from vault.records.ports import SubjectKeyStore
from vault.records.rows import RECORD, ciphertexts, record_rows
from vault.subjects.models import Subject
from vault.vocabulary import EventAction


def export_for_subject(
    db: Database, audit: AuditLog, subject_keys: SubjectKeyStore, subject_id: uuid.UUID
) -> dict[str, object]:
    """Everything the vault holds about a subject, decrypted for the subject alone.

    Called only from the subject's own authenticated kiosk session (right of access).
    """
    with db.read_session() as session:
        subject = session.get(Subject, subject_id)
        if subject is None or subject.erased_at is not None:
            raise NotFound("No such subject.")
        audit.append(
            AuditEvent.by(
                None,
                EventAction.SUBJECT_EXPORT,
                Outcome.ALLOW,
                subject_id=subject_id,
                actor_role="subject",
                purpose="right_of_access",
            )
        )
        dek = subject_keys.data_key(session, subject_id)
        out: list[dict[str, object]] = []
        for record in record_rows(session, subject_id):
            stored = ciphertexts(session, record.id)
            out.append(
                {
                    "id": str(record.id),
                    "type": record.record_type,
                    "version": record.version,
                    "current": record.superseded_at is None,
                    "created_at": record.created_at.isoformat(),
                    "fields": open_record(dek, subject_id, record, stored),
                }
            )
        return {
            "subject_id": str(subject_id),
            "organization": subject.organization,
            "status": subject.status,
            "records": out,
        }


def date_of_birth(session: Session, subject_keys: SubjectKeyStore, subject_id: uuid.UUID) -> date:
    """The subject's date of birth, for the consent rules on minors.

    Decrypted only inside the vault; never returned to a caller.
    """
    value = identity_fields(session, subject_keys, subject_id, ["date_of_birth"])
    return date.fromisoformat(value["date_of_birth"])


def identity_fields(
    session: Session, subject_keys: SubjectKeyStore, subject_id: uuid.UUID, wanted: list[str]
) -> dict[str, str]:
    """Fields of the subject's identity record, decrypted inside the vault for its own
    jobs (the consent rules on minors, ``vault keys rebuild-index``); never returned to
    a caller."""
    subject = session.get(Subject, subject_id)
    if subject is None or subject.erased_at is not None or subject.identity_record_id is None:
        raise NotFound("No such subject.")
    record = session.execute(RECORD, {"record_id": subject.identity_record_id}).first()
    if record is None:
        raise NotFound("No such subject.")
    stored = ciphertexts(session, record.id)
    dek = subject_keys.data_key(session, subject_id)
    value = open_record(dek, subject_id, record, stored, wanted)
    return dict(value)
