"""Which subjects are decoys (``vault honeytokens plant``).

Only the subject id is kept: a decoy is otherwise an ordinary subject,
registered through the ordinary path, so nothing in its rows or in the
register events tells an insider it is one.
"""

import uuid

from sqlmodel import Field

from vault.stamps import Stamped

__all__ = ["Honeytoken"]


class Honeytoken(Stamped, table=True):
    __tablename__ = "honeytokens"

    subject_id: uuid.UUID = Field(unique=True)
    organization: str = Field(index=True, max_length=64)
