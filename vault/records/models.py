"""Tables of subjects, their keys and their records.

Identity fields are stored only as field ciphertext under the subject's data
key; NIK and register number also as blind-index digests for equality search.
"""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, LargeBinary, UniqueConstraint
from sqlmodel import Field

from vault.stamps import Stamped, UtcDateTime, utc_field


class SubjectStatus(StrEnum):
    IN_CUSTODY = "in_custody"
    CONDITIONAL_RELEASE = "conditional_release"
    RELEASED = "released"
    TRANSFERRED = "transferred"
    ERASED = "erased"


class Subject(Stamped, table=True):
    __tablename__ = "subjects"

    organization: str = Field(index=True, max_length=64)
    status: str = Field(default=SubjectStatus.IN_CUSTODY.value, max_length=32)
    nik_index: str = Field(index=True, max_length=64)
    register_index: str = Field(index=True, max_length=64)
    # The identity record (full name, NIK, register number, date of birth) is a
    # record of type "identity" like any other; this points at it.
    identity_record_id: uuid.UUID | None = Field(default=None)
    pin_hash: str | None = Field(default=None, max_length=255)
    legal_hold: bool = Field(default=False)
    erased_at: datetime | None = utc_field(default=None, nullable=True)


class Record(Stamped, table=True):
    """One version of a record. A correction is a new row that supersedes the old one."""

    __tablename__ = "records"

    subject_id: uuid.UUID = Field(foreign_key="subjects.id", index=True)
    record_type: str = Field(max_length=64)
    version: int = Field(default=1)
    # The first version's id: all versions of one record share it.
    lineage_id: uuid.UUID = Field(index=True)
    supersedes_id: uuid.UUID | None = Field(default=None)
    superseded_at: datetime | None = Field(default=None, sa_type=UtcDateTime, nullable=True)
    author_id: uuid.UUID | None = Field(default=None)
    author_org: str = Field(max_length=64)


class RecordField(Stamped, table=True):
    __tablename__ = "record_fields"
    __table_args__ = (UniqueConstraint("record_id", "name"),)

    record_id: uuid.UUID = Field(foreign_key="records.id", index=True)
    name: str = Field(max_length=64)
    category: str = Field(max_length=32)
    ciphertext: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class ErasureApproval(Stamped, table=True):
    """A compliance officer's approval of one subject's erasure: the second person."""

    __tablename__ = "erasure_approvals"

    subject_id: uuid.UUID = Field(index=True)
    approver_id: uuid.UUID
    expires_at: datetime = utc_field()
    used_at: datetime | None = utc_field(default=None, nullable=True)
