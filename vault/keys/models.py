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


class KeyPin(Stamped, table=True):
    """What the store expects of its key provider, checked at every start.

    ``provider_fingerprint``: the provider and root the data was written under
    (a different keyring or token is refused). ``kek_current``: the KEK version
    new wraps use (a key planted in the token under a higher version is never
    used, and the vault refuses to start beside it). ``kek_rotating``: set while
    ``vault keys rotate`` creates a version, so an interrupted rotation is
    recognised.
    """

    __tablename__ = "key_pins"

    name: str = Field(max_length=64, unique=True, index=True)
    value: str = Field(max_length=256)
