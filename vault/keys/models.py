"""The ``subject_keys`` table: one wrapped data key per subject.

No foreign key to ``subjects``: shredding deletes this row while the subject's
row stays (marked erased), and the key service must not depend on records.
"""

import uuid

from sqlalchemy import Column, LargeBinary
from sqlmodel import Field

from vault.stamps import Stamped


class SubjectKey(Stamped, table=True):
    __tablename__ = "subject_keys"

    subject_id: uuid.UUID = Field(unique=True, index=True)
    # Which KEK version wrapped the key: rotation rewraps rows version by version.
    kek_version: int = Field(index=True)
    wrapped_dek: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
