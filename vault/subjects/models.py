"""Tables of subjects: who is held where, in which status, and erasure approvals.

Identity fields are stored only as field ciphertext under the subject's data
key (an ``identity`` record); NIK and register number also as blind-index
digests for equality search.
"""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlmodel import Field

from vault.stamps import Stamped, utc_field


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


class ErasureApproval(Stamped, table=True):
    """A compliance officer's approval of one subject's erasure: the second person."""

    __tablename__ = "erasure_approvals"

    subject_id: uuid.UUID = Field(index=True)
    approver_id: uuid.UUID
    expires_at: datetime = utc_field()
    used_at: datetime | None = utc_field(default=None, nullable=True)
