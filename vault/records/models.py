"""Tables of records and their encrypted fields (subjects live in ``vault.subjects``).

Identity fields are stored only as field ciphertext under the subject's data
key; NIK and register number also as blind-index digests for equality search.
"""

import uuid
from datetime import datetime

from sqlalchemy import Column, LargeBinary, UniqueConstraint
from sqlmodel import Field

from vault.stamps import Stamped, UtcDateTime


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
