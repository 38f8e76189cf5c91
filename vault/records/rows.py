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

from sqlalchemy import bindparam
from sqlmodel import col

from vault.cursor_reads import Reads, row_select
from vault.records.models import Record, RecordField

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
