"""The one row shape of each records table, and what a caller is given of a record.

Statements are built once from the table definitions (``vault.cursor_reads``)
and run on a Session or on the hot path's bare cursor alike; a row answers to
its columns' names, never to a position.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import and_, bindparam, select
from sqlmodel import col

from vault.cursor_reads import Reads, row_select, table_columns
from vault.honeytokens.models import Honeytoken
from vault.keys.models import SubjectKey
from vault.records.models import Record, RecordField
from vault.subjects.models import Subject

# Every column of a record version (metadata only: the fields are another table).
RECORD = row_select(Record).where(col(Record.id) == bindparam("record_id"))
RECORDS_OF_SUBJECT = (
    row_select(Record)
    .where(col(Record.subject_id) == bindparam("subject_id"))
    .order_by(col(Record.created_at), col(Record.version))
)
FIELDS = row_select(RecordField, "name", "category", "ciphertext").where(
    col(RecordField.record_id) == bindparam("record_id")
)


def _record_read() -> Any:
    """Everything a record read needs before its decision, in one statement.

    The subject (organisation, status, legal hold, erasure), the record version
    (only if it is this subject's), one row per field with its ciphertext, the
    subject's wrapped data key and whether the subject is a decoy. No subject:
    no row. One row per field; a record without fields (or none at all) gives one
    row whose record or field columns are NULL.
    """
    subject, key, decoy = (
        table_columns(Subject, "organization", "status", "legal_hold", "erased_at"),
        table_columns(SubjectKey, "kek_version", "wrapped_dek"),
        table_columns(Honeytoken, "subject_id")[0],
    )
    record = table_columns(
        Record,
        "id",
        "subject_id",
        "record_type",
        "version",
        "lineage_id",
        "supersedes_id",
        "superseded_at",
        "created_at",
    )
    field_name, ciphertext = table_columns(RecordField, "name", "ciphertext")
    subjects, records, fields = Subject.__table__, Record.__table__, RecordField.__table__  # type: ignore[attr-defined]  # SQLModel table models have one
    keys, decoys = SubjectKey.__table__, Honeytoken.__table__  # type: ignore[attr-defined]  # SQLModel table models have one
    joined = (
        subjects.outerjoin(
            records,
            and_(records.c.id == bindparam("record_id"), records.c.subject_id == subjects.c.id),
        )
        .outerjoin(fields, fields.c.record_id == records.c.id)
        .outerjoin(keys, keys.c.subject_id == subjects.c.id)
        .outerjoin(decoys, decoys.c.subject_id == subjects.c.id)
    )
    return (
        select(
            *subject,
            *record,
            field_name.label("field_name"),
            ciphertext,
            *key,
            decoy.label("decoy"),
        )
        .select_from(joined)
        .where(subjects.c.id == bindparam("subject_id"))
    )


RECORD_READ = _record_read()


class RecordColumns(Protocol):
    """A record version as a row of ``RECORD`` or a ``Record`` (the same names)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def record_type(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def lineage_id(self) -> uuid.UUID: ...
    @property
    def supersedes_id(self) -> uuid.UUID | None: ...
    @property
    def superseded_at(self) -> datetime | None: ...
    @property
    def created_at(self) -> datetime: ...


@dataclass(frozen=True)
class RecordMeta:
    id: uuid.UUID
    type: str
    version: int
    lineage_id: uuid.UUID
    supersedes_id: uuid.UUID | None
    current: bool
    created_at: datetime

    @classmethod
    def of(cls, record: RecordColumns) -> RecordMeta:
        return cls(
            id=record.id,
            type=record.record_type,
            version=record.version,
            lineage_id=record.lineage_id,
            supersedes_id=record.supersedes_id,
            current=record.superseded_at is None,
            created_at=record.created_at,
        )


@dataclass(frozen=True)
class RecordView:
    meta: RecordMeta
    fields: dict[str, str]
    withheld: dict[str, str]
    consent_id: uuid.UUID | None = None
    break_glass_id: uuid.UUID | None = None


def ciphertexts(reads: Reads, record_id: uuid.UUID) -> dict[str, bytes]:
    """Every stored field of one record version: name -> ciphertext."""
    return {
        row.name: bytes(row.ciphertext) for row in reads.execute(FIELDS, {"record_id": record_id})
    }


def record_rows(reads: Reads, subject_id: uuid.UUID) -> list[Any]:
    """Every version of every record of a subject (``RECORD``'s rows), oldest first."""
    return list(reads.execute(RECORDS_OF_SUBJECT, {"subject_id": subject_id}))
