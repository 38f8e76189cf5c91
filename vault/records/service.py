"""``RecordsService``: writing, correcting and listing a subject's records.

Reading (and every decryption for a caller) is ``vault.records.reading``;
sealing is ``vault.records.writing``; the subject itself (who may know it
exists, registration, erasure) is ``vault.subjects``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import Session

from vault.audit.events import AuditSink
from vault.db import Database
from vault.errors import Forbidden, InvalidInput, NotFound
from vault.records.catalog import Catalog
from vault.records.decisions import DecisionFacts, decision_event
from vault.records.models import Record
from vault.records.own_decryptions import date_of_birth, export_for_subject, identity_fields
from vault.records.ports import PolicyDecider, SubjectKeyStore, Subjects
from vault.records.reading import RecordReader
from vault.records.rows import RecordMeta, record_rows
from vault.records.writing import (
    IDENTITY_RECORD_TYPE,
    RecordWriter,
    Resealer,
    rotate_subject_key,
)
from vault.subjects.visibility import SubjectRef
from vault.vocabulary import Action, Category, EventAction, Principal, Resource


@dataclass
class RecordsService:
    db: Database
    catalog: Catalog
    policy: PolicyDecider
    subjects: Subjects
    subject_keys: SubjectKeyStore
    audit: AuditSink
    decisions: DecisionFacts
    writer: RecordWriter
    reader: RecordReader
    clock: Callable[[], datetime]
    # Values of other capabilities under the subject's data key, re-encrypted at its
    # rotation (a guardian's identity: ConsentService.reseal_guardians).
    also_resealed: list[Resealer] = field(default_factory=list)

    @classmethod
    def beside(cls, reader: RecordReader, writer: RecordWriter) -> RecordsService:
        """The service that writes where ``reader`` reads: the same store, catalog, policy,
        subjects, keys, audit log, decision facts and clock."""
        return cls(
            reader.db,
            reader.catalog,
            reader.policy,
            reader.subjects,
            reader.subject_keys,
            reader.audit,
            reader.decisions,
            writer,
            reader,
            reader.clock,
        )

    def _visible(
        self,
        session: Session,
        principal: Principal,
        action: Action,
        subject_id: uuid.UUID,
        purpose: str | None,
    ) -> SubjectRef:
        subject = self.subjects.visible_to(session, principal, subject_id, purpose)
        if subject is None:
            self.audit.append(self.decisions.unseen(principal, action, subject_id, purpose))
            raise NotFound("No such subject.")
        return subject

    def create_record(
        self,
        principal: Principal,
        subject_id: uuid.UUID,
        record_type: str,
        fields: Mapping[str, object],
    ) -> RecordMeta:
        """Write a new record for an assigned subject."""
        with self.db.read_session() as session:
            subject = self._visible(session, principal, Action.CREATE_RECORD, subject_id, None)
        return self._write(principal, subject, record_type, fields, corrects=None)

    def correct_record(
        self,
        principal: Principal,
        subject_id: uuid.UUID,
        record_id: uuid.UUID,
        fields: Mapping[str, object],
    ) -> RecordMeta:
        """Rectify a record: a new version of the current one, of the same type.

        Asked of the policy before the record is even looked up: a caller who may
        not correct this subject's records learns nothing of which ids exist.
        """
        with self.db.read_session() as session:
            subject = self.subjects.gate(session, principal, Action.CORRECT_RECORD, subject_id)
            # The care team only (assigned, or a consent naming the caller's organisation),
            # still before the record is looked up; the categories are decided in _write.
            decision = self.policy.decide(
                principal,
                Action.CREATE_RECORD,
                Resource(kind="record", subject_id=subject_id, organization=subject.organization),
                self.decisions.context(session, principal, subject_id, None),
            )
            if not decision.allowed:
                self.audit.append(
                    decision_event(
                        principal, EventAction.RECORD_CORRECT, subject_id, None, decision, None
                    )
                )
                raise Forbidden(f"Not allowed to correct records: {decision.reason}")
            record = session.get(Record, record_id)
            record_type = (
                record.record_type
                if record is not None
                and record.subject_id == subject_id
                and record.superseded_at is None
                else None
            )
        if record_type is None:
            raise NotFound("No current record with that id for this subject.")
        return self._write(principal, subject, record_type, fields, corrects=record_id)

    def _write(
        self,
        principal: Principal,
        subject: SubjectRef,
        record_type: str,
        fields: Mapping[str, object],
        *,
        corrects: uuid.UUID | None,
    ) -> RecordMeta:
        if record_type == IDENTITY_RECORD_TYPE:
            raise InvalidInput("identity records are written by subject registration")
        values = self.catalog.validate_fields(record_type, fields)
        categories = frozenset(Category(self.catalog.category_of(record_type, n)) for n in values)
        action = EventAction.RECORD_CORRECT if corrects else EventAction.RECORD_CREATE
        with self.db.read_session() as session:
            decision = self.policy.decide(
                principal,
                Action.CREATE_RECORD,
                Resource(
                    kind="record",
                    subject_id=subject.id,
                    organization=subject.organization,
                    record_type=record_type,
                    categories=categories,
                ),
                self.decisions.context(session, principal, subject.id, None),
            )
        if not decision.allowed:
            self.audit.append(decision_event(principal, action, subject.id, None, decision, None))
            raise Forbidden(f"Not allowed to write {record_type} records: {decision.reason}")
        record_id = uuid.uuid4()
        # Audit before the write: on SQLite the write session holds the only write lock.
        self.audit.append(
            decision_event(
                principal,
                action,
                subject.id,
                record_id,
                decision,
                None,
                categories=tuple(sorted(c.value for c in categories)),
            )
        )
        with self.db.session() as session:
            previous = None
            if corrects is not None:
                previous = session.get(Record, corrects)
                if (
                    previous is None
                    or previous.subject_id != subject.id
                    or previous.superseded_at is not None
                ):
                    raise NotFound("No current record with that id for this subject.")
            dek = self.subject_keys.data_key(session, subject.id)
            record = self.writer.write(
                session, dek, subject.id, principal, record_type, values, previous, record_id
            )
            return RecordMeta.of(record)

    def list_records(
        self, principal: Principal, subject_id: uuid.UUID, purpose: str
    ) -> list[RecordMeta]:
        """Metadata of a subject's records; no field is decrypted.

        A touch of a decoy subject is recorded whether the listing is allowed or not.
        """
        try:
            with self.db.read_session() as session:
                subject = self._visible(
                    session, principal, Action.LIST_RECORDS, subject_id, purpose
                )
                decision = self.policy.decide(
                    principal,
                    Action.LIST_RECORDS,
                    Resource(
                        kind="record", subject_id=subject_id, organization=subject.organization
                    ),
                    self.decisions.context(session, principal, subject_id, purpose),
                )
                self.audit.append(
                    decision_event(
                        principal, EventAction.RECORD_LIST, subject_id, None, decision, purpose
                    )
                )
                if not decision.allowed:
                    raise NotFound("No such subject.")
                rows = [RecordMeta.of(row) for row in record_rows(session, subject_id)]
        finally:
            if self.reader.on_touch is not None:
                self.reader.on_touch(principal, (subject_id,), EventAction.RECORD_LIST.value)
        return rows

    def export_for_subject(self, subject_id: uuid.UUID) -> dict[str, object]:
        """The subject's own export (right of access), see ``vault.records.own_decryptions``."""
        return export_for_subject(self.reader.db, self.reader.audit, self.subject_keys, subject_id)

    def date_of_birth(self, session: Session, subject_id: uuid.UUID) -> date:
        """The date of birth the consent rules on minors need (never returned to a caller)."""
        return date_of_birth(session, self.subject_keys, subject_id)

    def identity_fields(
        self, session: Session, subject_id: uuid.UUID, wanted: list[str]
    ) -> dict[str, str]:
        """Identity fields for the vault's own jobs (``vault keys rebuild-index``)."""
        return identity_fields(session, self.subject_keys, subject_id, wanted)

    def rotate_subject_key(self, subject_id: uuid.UUID) -> int:
        """Re-encrypt every field of the subject under a new data key (an operator's job)."""
        return rotate_subject_key(
            self.db, self.audit, self.subject_keys, subject_id, self.also_resealed
        )
