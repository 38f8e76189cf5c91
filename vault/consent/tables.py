"""Tables of consents. History is never overwritten.

A signed consent is one ``consents`` row and one ``consent_purposes`` row per
purpose of its form (granted or refused); neither is ever updated. It ends by
one ``consent_endings`` row (withdrawn, superseded or expired; at most one per
consent, so two concurrent withdrawals cannot both succeed). A consent is
active at time T when it was signed before T, expires after T, and has no
ending at or before T: expiry is enforced when a decision is made, not by a job.
"""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field

from vault.stamps import Stamped, utc_field


class EndingKind(StrEnum):
    WITHDRAWN = "withdrawn"
    SUPERSEDED = "superseded"
    EXPIRED = "expired"


class SignedBy(StrEnum):
    SUBJECT = "subject"
    GUARDIAN = "guardian"


class Consent(Stamped, table=True):
    __tablename__ = "consents"

    subject_id: uuid.UUID = Field(foreign_key="subjects.id", index=True)
    form_id: str = Field(max_length=64)
    form_version: int
    language: str = Field(max_length=8)
    # SHA-256 (hex) of the exact text shown (ConsentForm.render).
    text_sha256: str = Field(max_length=64)
    signed_at: datetime = utc_field(nullable=False)
    expires_at: datetime = utc_field(nullable=False, index=True)
    witness_id: uuid.UUID
    witness_org: str = Field(max_length=64)
    method: str = Field(max_length=16)  # "pin"
    signed_by: str = Field(max_length=16)  # SignedBy
    # The enrolled guardian who signed for a minor (their identity is sealed under the
    # subject's data key in consent_guardians, so erasure removes it).
    guardian_id: uuid.UUID | None = Field(default=None)
    assent: bool | None = Field(default=None)  # a minor's own agreement, beside the guardian's
    receipt_id: uuid.UUID = Field(unique=True)
    receipt_jws: str = Field(sa_column=Column(Text, nullable=False))


class ConsentPurpose(Stamped, table=True):
    __tablename__ = "consent_purposes"
    __table_args__ = (UniqueConstraint("consent_id", "purpose"),)

    consent_id: uuid.UUID = Field(foreign_key="consents.id", index=True)
    subject_id: uuid.UUID = Field(index=True)
    purpose: str = Field(max_length=64)
    position: int = Field(default=0)  # the purpose's place on the form
    granted: bool
    # Comma-separated Category values and organisation codes (resolved, no placeholders).
    categories: str = Field(max_length=255)
    recipients: str = Field(max_length=512)


class ConsentEnding(Stamped, table=True):
    __tablename__ = "consent_endings"

    consent_id: uuid.UUID = Field(foreign_key="consents.id", unique=True)
    kind: str = Field(max_length=16)  # EndingKind
    at: datetime = utc_field(nullable=False)
    actor_id: uuid.UUID | None = Field(default=None)  # a user, the subject, or None (the vault)
    actor_kind: str = Field(max_length=16)  # "staff", "subject" or "system"
    # A code from WITHDRAWAL_REASONS, never free text (it could carry health data).
    reason: str | None = Field(default=None, max_length=32)
    superseded_by: uuid.UUID | None = Field(default=None)


class PinFailure(Stamped, table=True):
    """One wrong PIN for a subject: counted in the database so every worker sees it."""

    __tablename__ = "consent_pin_failures"

    subject_id: uuid.UUID = Field(index=True)
    at: datetime = utc_field(nullable=False, index=True)


class PinReset(Stamped, table=True):
    """A forgotten PIN: asked for in a kiosk session, approved by a second person.

    The staff member who opened the kiosk session (the subject beside them) asks;
    another staff member of the organisation approves over the API; the subject
    then chooses a new PIN in that same kiosk session. Nothing signed is touched.
    """

    __tablename__ = "consent_pin_resets"

    subject_id: uuid.UUID = Field(index=True)
    organization: str = Field(max_length=64)
    kiosk_session_id: uuid.UUID = Field(index=True)
    requested_by: uuid.UUID
    requested_at: datetime = utc_field(nullable=False)
    approved_by: uuid.UUID | None = Field(default=None)
    approved_at: datetime | None = utc_field(default=None, nullable=True)
    used_at: datetime | None = utc_field(default=None, nullable=True)


class ConsentGuardian(Stamped, table=True):
    """The guardian of a minor: enrolled at the kiosk after an identity check witnessed
    by a second staff member, with a PIN the guardian chose there.

    ``sealed_identity`` (name, relation, identity document type and number) is
    field ciphertext under the subject's data key (``vault.consent.guardians``):
    a crypto-erasure of the subject leaves it unreadable, and erasure deletes the
    row. A newer enrolment ends the older one (``ended_at``).
    """

    __tablename__ = "consent_guardians"

    subject_id: uuid.UUID = Field(index=True)
    organization: str = Field(max_length=64)
    sealed_identity: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    pin_hash: str = Field(max_length=255)
    # The staff member who opened the kiosk session, and the second one who saw the
    # guardian's identity document: two distinct people.
    opened_by: uuid.UUID
    checked_by: uuid.UUID
    kiosk_session_id: uuid.UUID | None = Field(default=None)
    enrolled_at: datetime = utc_field(nullable=False)
    ended_at: datetime | None = utc_field(default=None, nullable=True)


class PinBlock(Stamped, table=True):
    """The subject said at the kiosk "I did not choose this PIN": the PIN signs nothing
    until a two-person reset lets the subject choose a new one."""

    __tablename__ = "consent_pin_blocks"

    subject_id: uuid.UUID = Field(unique=True)
    kiosk_session_id: uuid.UUID
    reported_at: datetime = utc_field(nullable=False)
