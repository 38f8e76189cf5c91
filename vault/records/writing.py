"""Writing record versions: validate, seal under the subject's data key, store.

Also the two other writers of ciphertext: the deletion of every field at a
subject's erasure, and the re-encryption of every field at a key rotation.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, col, select

from vault.audit.events import AuditEvent, AuditSink, Outcome
from vault.crypto.keys import DataKey
from vault.db import Database
from vault.errors import NotFound
from vault.records.catalog import Catalog
from vault.records.fieldcrypt import reseal_fields, seal_fields
from vault.records.models import Record, RecordField
from vault.records.ports import SubjectKeyStore
from vault.subjects.models import Subject
from vault.vocabulary import EventAction, Principal

IDENTITY_RECORD_TYPE = "identity"


@dataclass
class RecordWriter:
    catalog: Catalog
    clock: Callable[[], datetime]

    def write(
        self,
        session: Session,
        dek: DataKey,
        subject_id: uuid.UUID,
        principal: Principal,
        record_type: str,
        values: Mapping[str, str],
        previous: Record | None,
        record_id: uuid.UUID,
    ) -> Record:
        """Store one record version (``previous``: the version it corrects, then superseded)."""
        version = previous.version + 1 if previous else 1
        record = Record(
            id=record_id,
            subject_id=subject_id,
            record_type=record_type,
            version=version,
            lineage_id=previous.lineage_id if previous else record_id,
            supersedes_id=previous.id if previous else None,
            author_id=principal.id,
            author_org=principal.organization,
        )
        if previous is not None:
            previous.superseded_at = self.clock()
        session.add(record)
        session.flush()
        sealed = seal_fields(
            dek,
            subject_id=subject_id,
            record_id=record_id,
            record_type=record_type,
            version=version,
            values=values,
        )
        for name, ciphertext in sealed.items():
            session.add(
                RecordField(
                    record_id=record_id,
                    name=name,
                    category=self.catalog.category_of(record_type, name),
                    ciphertext=ciphertext,
                )
            )
        return record

    def validate_identity(self, values: Mapping[str, object]) -> dict[str, str]:
        return self.catalog.validate_fields(IDENTITY_RECORD_TYPE, values)

    def write_identity(
        self,
        session: Session,
        dek: DataKey,
        principal: Principal,
        subject_id: uuid.UUID,
        record_id: uuid.UUID,
        values: Mapping[str, str],
    ) -> None:
        """The identity record written at registration (validated by ``validate_identity``)."""
        self.write(
            session, dek, subject_id, principal, IDENTITY_RECORD_TYPE, values, None, record_id
        )

    @staticmethod
    def delete_fields(session: Session, subject_id: uuid.UUID) -> None:
        """Delete every ciphertext of a subject (erasure; the record rows stay as metadata)."""
        record_ids = select(col(Record.id)).where(col(Record.subject_id) == subject_id)
        session.execute(delete(RecordField).where(col(RecordField.record_id).in_(record_ids)))


# Another capability's values sealed under the subject's data key (a guardian's
# identity): re-encrypted in the rotation's transaction; returns how many.
Resealer = Callable[[Session, uuid.UUID, DataKey, DataKey], int]


def rotate_subject_key(
    db: Database,
    audit: AuditSink,
    subject_keys: SubjectKeyStore,
    subject_id: uuid.UUID,
    also: Sequence[Resealer] = (),
) -> int:
    """Give the subject a new data key and re-encrypt every field under it.

    An operator's job (``vault keys rotate-subject``), e.g. after a key may
    have been exposed. One transaction: either every field (and every value
    of ``also``) is under the new key, or nothing changed. Returns the number
    of fields re-encrypted.
    """
    audit.append(
        AuditEvent.by(
            None,
            EventAction.KEY_SUBJECT_ROTATE,
            Outcome.INFO,
            actor_role="operator",
            subject_id=subject_id,
        )
    )
    rewritten = 0
    with db.session() as session:
        subject = session.get(Subject, subject_id)
        if subject is None or subject.erased_at is not None:
            raise NotFound("No such subject.")

        def reencrypt(old: DataKey, new: DataKey) -> None:
            nonlocal rewritten
            records = session.exec(select(Record).where(col(Record.subject_id) == subject_id))
            for record in records.all():
                rows = {
                    row.name: row
                    for row in session.exec(
                        select(RecordField).where(col(RecordField.record_id) == record.id)
                    )
                }
                sealed = reseal_fields(
                    old,
                    new,
                    subject_id=subject_id,
                    record_id=record.id,
                    record_type=record.record_type,
                    version=record.version,
                    stored={name: row.ciphertext for name, row in rows.items()},
                )
                for name, row in rows.items():
                    row.ciphertext = sealed[name]
                    session.add(row)
                    rewritten += 1
            for reseal in also:
                rewritten += reseal(session, subject_id, old, new)

        subject_keys.rotate_subject(session, subject_id, reencrypt)
    return rewritten
