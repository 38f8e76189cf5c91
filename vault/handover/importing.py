"""Writing an accepted bundle: the subject, its records, their provenance and the import
row, all in one transaction, so a failure anywhere in it stores nothing of the bundle."""

from __future__ import annotations

import uuid
from typing import Any

from vault.db import Database
from vault.handover.models import HandoverImport, HandoverProvenance
from vault.records.writing import IDENTITY_RECORD_TYPE, RecordWriter
from vault.subjects.registration import PreparedSubject
from vault.vocabulary import Principal

__all__ = ["write_import"]


def write_import(
    db: Database,
    subjects: Any,  # vault.subjects.service.SubjectsService (write_registration)
    writer: RecordWriter,
    principal: Principal,
    prepared: PreparedSubject,
    records: list[dict[str, Any]],
    imported: HandoverImport,
) -> None:
    """The subject, every record, its provenance and the import row: one transaction."""
    with db.session() as session:
        dek = subjects.write_registration(session, principal, prepared)
        written = [prepared.record_id]
        for record in records:
            if record["type"] == IDENTITY_RECORD_TYPE:
                continue
            record_id = uuid.uuid4()
            writer.write(
                session,
                dek,
                prepared.subject_id,
                principal,
                record["type"],
                record["values"],
                None,
                record_id,
            )
            written.append(record_id)
        for record_id in written:
            session.add(
                HandoverProvenance(
                    record_id=record_id,
                    subject_id=prepared.subject_id,
                    sender=imported.sender,
                    bundle_id=imported.bundle_id,
                    consent_id=imported.consent_id,
                )
            )
        session.add(imported)
