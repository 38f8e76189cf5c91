"""Tables of care-team assignments and break-glass grants.

Neither has a foreign key to ``subjects``: a subject's rows outlive its
erasure as history, and the records capability owns that table.
"""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Text
from sqlmodel import Field

from vault.stamps import Stamped, utc_field


class Assignment(Stamped, table=True):
    """A staff member on a subject's care team, until ``ended_at``."""

    __tablename__ = "assignments"

    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    subject_id: uuid.UUID = Field(index=True)
    assigned_by: uuid.UUID | None = Field(default=None)
    ended_at: datetime | None = utc_field(default=None, nullable=True)
    ended_by: uuid.UUID | None = Field(default=None)


class ReviewOutcome(StrEnum):
    JUSTIFIED = "justified"
    UNJUSTIFIED = "unjustified"


class BreakGlass(Stamped, table=True):
    """An emergency access grant: time-limited, and waiting for a compliance review."""

    __tablename__ = "break_glass_grants"

    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    subject_id: uuid.UUID = Field(index=True)
    # Free text that may mention health facts: never copied into the audit log.
    justification: str = Field(sa_column=Column(Text, nullable=False))
    expires_at: datetime = utc_field()
    reviewed_at: datetime | None = utc_field(default=None, nullable=True, index=True)
    reviewer_id: uuid.UUID | None = Field(default=None)
    outcome: str | None = Field(default=None, max_length=16)
    review_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # An unjustified grant blocks its holder from opening another until a
    # compliance officer of their organisation lifts the block.
    block_lifted_at: datetime | None = utc_field(default=None, nullable=True)
    block_lifted_by: uuid.UUID | None = Field(default=None)
