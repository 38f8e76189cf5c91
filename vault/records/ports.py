"""What the records capability needs from the others, as small protocols."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Protocol

from sqlmodel import Session

from vault import vocabulary
from vault.crypto.keys import DataKey, WrappedKey
from vault.cursor_reads import Ahead, CursorReads, Reads
from vault.subjects.visibility import SubjectRef
from vault.vocabulary import Action, BreakGlassGrant, Principal


class AccessFacts(Protocol):
    """What the access capability knows about a principal and a subject."""

    def is_assigned(self, session: Reads, user_id: uuid.UUID, subject_id: uuid.UUID) -> bool: ...

    def facts_ahead(
        self, user_id: uuid.UUID, subject_id: uuid.UUID, now: datetime, emergency: bool
    ) -> list[Ahead]: ...

    def break_glass(
        self, session: Reads, user_id: uuid.UUID, subject_id: uuid.UUID, now: datetime
    ) -> BreakGlassGrant | None: ...


# The policy engine, defined once beside the vocabulary it judges.
PolicyDecider = vocabulary.PolicyDecider


class Subjects(Protocol):
    """The subjects capability (``SubjectsService``): the one lookup of a subject."""

    def visible_to(
        self,
        reads: Reads,
        principal: Principal,
        subject_id: uuid.UUID,
        purpose: str | None = None,
    ) -> SubjectRef | None: ...

    def admitted(
        self,
        reads: Reads,
        principal: Principal,
        subject: SubjectRef | None,
        purpose: str | None = None,
    ) -> SubjectRef | None: ...

    def gate(
        self,
        reads: Reads,
        principal: Principal,
        action: Action,
        subject_id: uuid.UUID,
        *,
        on_self: bool = False,
        created_by_principal: bool = False,
    ) -> SubjectRef: ...


class CallerCheck(Protocol):
    """A caller's credential, checked in the snapshot of the read it comes with.

    The record read's bearer token (``vault.identity.bearer.BearerCheck``): the
    read is planned for the principal the token was last seen for, and the
    token's rows, read in the same snapshot, must confirm exactly that principal.
    """

    def guess(self) -> Principal | None: ...

    def ahead(self) -> list[Ahead]: ...

    def confirms(self, reads: CursorReads, guessed: Principal) -> bool: ...

    def authenticate(self) -> Principal: ...


class Decoys(Protocol):
    """The honeytokens capability: whether a subject is a decoy, and recording a touch."""

    def is_decoy(self, reads: Reads, subject_id: uuid.UUID) -> bool: ...

    def hit(self, principal: Principal, decoys: Collection[uuid.UUID], via: str) -> None: ...


class SubjectKeyStore(Protocol):
    """The keys capability: one wrapped data key per subject."""

    def data_key(self, session: Session, subject_id: uuid.UUID) -> DataKey: ...

    def wrapped_key(self, session: Reads, subject_id: uuid.UUID) -> WrappedKey | None: ...

    def unwrap(self, subject_id: uuid.UUID, wrapped: WrappedKey) -> DataKey: ...

    def rotate_subject(
        self,
        session: Session,
        subject_id: uuid.UUID,
        reencrypt: Callable[[DataKey, DataKey], None],
    ) -> None: ...
