"""Who acts on a consent and what they ask: the values the consent operations take and give.

Staff act as themselves. The subject acts only at the kiosk, in a session a
staff member opened: the audit log then names that staff member (``actor_id``)
with ``actor_role`` ``subject``, so the person who stood beside the subject is
on record for everything done there.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from vault.audit.events import AuditEvent, Outcome
from vault.consent.views import ConsentRecord, ConsentStatus, PurposeDecision
from vault.errors import InvalidInput
from vault.vocabulary import EventAction, Principal

ADULT_AGE = 18
# Withdrawal reasons are codes: free text could carry health data into the store.
WITHDRAWAL_REASONS = frozenset(
    {"subject_request", "guardian_request", "turned_18", "transfer", "other"}
)
SUBJECT_ROLE = "subject"  # actor_role of the subject acting at the kiosk


@dataclass(frozen=True)
class Actor:
    """Who performs a consent operation: a staff member, or the subject at the kiosk.

    For the subject, ``principal`` is the staff member who opened the kiosk
    session (None only where no session exists, as in unit tests).
    """

    principal: Principal | None
    subject_id: uuid.UUID | None = None

    @classmethod
    def staff(cls, principal: Principal) -> Actor:
        return cls(principal)

    @classmethod
    def subject(cls, subject_id: uuid.UUID, witness: Principal | None = None) -> Actor:
        return cls(witness, subject_id)

    @property
    def is_subject(self) -> bool:
        return self.subject_id is not None

    @property
    def kind(self) -> str:
        return "subject" if self.is_subject else "staff"

    @property
    def id(self) -> uuid.UUID:
        """The id stored as who ended a consent: the subject's own, or the staff member's."""
        if self.subject_id is not None:
            return self.subject_id
        return self.staff_principal().id

    def staff_principal(self) -> Principal:
        if self.principal is None or self.is_subject:
            raise InvalidInput("This operation is for staff.")
        return self.principal

    def event(self, action: EventAction, outcome: Outcome, **fields: Any) -> AuditEvent:
        """An audit event by this actor (the subject's acts name the staff witness)."""
        if not self.is_subject:
            return AuditEvent.by(self.staff_principal(), action, outcome, **fields)
        built = AuditEvent.by(self.principal, action, outcome, **fields)
        return dataclasses.replace(
            built, actor_id=built.actor_id or self.subject_id, actor_role=SUBJECT_ROLE
        )


@dataclass(frozen=True)
class Guardian:
    """The enrolled guardian's signature for a minor (their own PIN), and whether the
    child agrees (assent). Who the guardian is was checked at their enrolment
    (``vault.consent.guardians``)."""

    pin: str = field(repr=False)
    assent: bool = True

    def __repr__(self) -> str:  # a PIN never reaches a log through repr
        return f"Guardian(assent={self.assent})"


@dataclass(frozen=True)
class SignRequest:
    form_id: str
    form_version: int
    language: str
    granted_purposes: frozenset[str]
    pin: str | None = field(default=None, repr=False)
    guardian: Guardian | None = None
    # For purposes whose recipient is "{sentra}": the sentra code(s) named at signing.
    recipients: Mapping[str, Sequence[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class SignedConsent:
    id: uuid.UUID
    status: ConsentStatus
    receipt: str
    expires_at: datetime


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def adulthood(born: date) -> datetime:
    """Midnight UTC of the 18th birthday (1 March for someone born on 29 February)."""
    try:
        day = born.replace(year=born.year + ADULT_AGE)
    except ValueError:
        day = date(born.year + ADULT_AGE, 3, 1)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def expired(record: ConsentRecord, now: datetime) -> bool:
    """Past its expiry with no ending recorded yet."""
    return record.ending is None and record.row.expires_at <= now


def categories_of(decisions: Iterable[PurposeDecision]) -> tuple[str, ...]:
    return tuple(sorted({c.value for d in decisions for c in d.categories}))


def withdrawal_reason(reason: str | None) -> str | None:
    return reason if reason in WITHDRAWAL_REASONS else ("other" if reason else None)
