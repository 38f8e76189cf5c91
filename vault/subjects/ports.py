"""What the subjects capability needs from the others, as small protocols.

The real objects are wired in ``vault.services``: the consent service, the key
store, the blind index, the records writer and the identity service's
two-person rule. Tests may pass fakes. The policy engine's protocol is the one
every capability shares, ``vault.vocabulary.PolicyDecider``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from sqlmodel import Session

from vault.crypto.keys import DataKey
from vault.cursor_reads import Ahead, Reads
from vault.vocabulary import ConsentGrant, Principal


class ConsentReader(Protocol):
    """The consent capability's view for decisions (``ConsentService.active_consents``)."""

    def grants_ahead(self, subject_id: uuid.UUID, now: datetime) -> Ahead: ...

    def active_consents(
        self, subject_id: uuid.UUID, now: datetime, session: Reads | None = None
    ) -> Sequence[ConsentGrant]: ...


class BlindIndexer(Protocol):
    def digest(self, field_name: str, value: str) -> str: ...

    def lookups(self, field_name: str, value: str) -> tuple[str, ...]: ...


class PinHasher(Protocol):
    def hash(self, secret: str) -> str: ...


class SubjectKeyMaker(Protocol):
    """The keys capability: a subject's data key is made at registration, shredded at erasure."""

    def create(self, session: Session, subject_id: uuid.UUID) -> DataKey: ...

    def shred(self, session: Session, subject_id: uuid.UUID) -> None: ...


class IdentityRecords(Protocol):
    """The records capability: writes the identity record, deletes every ciphertext."""

    def write_identity(
        self,
        session: Session,
        dek: DataKey,
        principal: Principal,
        subject_id: uuid.UUID,
        record_id: uuid.UUID,
        values: Mapping[str, str],
    ) -> None: ...

    def validate_identity(self, values: Mapping[str, object]) -> dict[str, str]: ...

    def delete_fields(self, session: Session, subject_id: uuid.UUID) -> None: ...


class TwoPeople(Protocol):
    """The two-person rule (``IdentityService.distinct_people``)."""

    def __call__(self, first: uuid.UUID, second: uuid.UUID) -> bool: ...
