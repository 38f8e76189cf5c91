"""The access review's table: every decision a compliance officer took on an account or
a care-team assignment, and each time the vault noticed the review was overdue.

A decision is also an audit event (``access_review.confirm``, ``access_review.end``);
this table is what the review page reads to know when each item was last confirmed.
"""

import uuid
from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field

from vault.stamps import Stamped, utc_field


class AccessReviewMark(Stamped, table=True):
    __tablename__ = "access_review_marks"
    __table_args__ = (Index("ix_access_review_marks_org_target", "organization", "target_id"),)

    organization: str = Field(max_length=64)
    # "account", "assignment", or "overdue" (the vault noticed overdue items).
    kind: str = Field(max_length=16)
    target_id: uuid.UUID | None = Field(default=None)
    # "confirm", "end" or "overdue".
    decision: str = Field(max_length=16)
    decided_by: uuid.UUID | None = Field(default=None)
    decided_at: datetime = utc_field()
