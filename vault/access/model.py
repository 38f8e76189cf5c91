"""The vocabulary of access decisions, shared by every capability.

``decide(principal, action, resource, context)`` (``vault.access.engine``)
takes these and returns a :class:`Decision`. Nothing here touches the
database or HTTP: callers gather the facts (assignment, active consents,
break-glass grant) and the engine only judges them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class Role(StrEnum):
    COUNSELOR = "counselor"
    SOCIAL_WORKER = "social_worker"
    HEALTH_OFFICER = "health_officer"
    OFFICER = "officer"
    COMPLIANCE_OFFICER = "compliance_officer"
    ADMIN = "admin"


class Category(StrEnum):
    """Data categories of record fields (``policies/catalog.toml`` names one per field)."""

    IDENTITY = "identity"
    PSYCHOLOGICAL = "psychological"
    FAMILY = "family"
    HEALTH_SENSITIVE = "health_sensitive"
    PROGRAM = "program"


class Action(StrEnum):
    REGISTER_SUBJECT = "subject.register"
    SEARCH_SUBJECT = "subject.search"
    CREATE_RECORD = "record.create"
    LIST_RECORDS = "record.list"
    READ_RECORD = "record.read"
    BREAK_GLASS = "break_glass.open"
    WITNESS_CONSENT = "consent.witness"
    MANAGE_USERS = "user.manage"
    MANAGE_ASSIGNMENTS = "assignment.manage"
    READ_AUDIT = "audit.read"


EMERGENCY_PURPOSE = "emergency"


@dataclass(frozen=True)
class Principal:
    id: uuid.UUID
    role: Role
    organization: str


@dataclass(frozen=True)
class Resource:
    kind: str  # "subject", "record", "consent", "user", "audit"
    subject_id: uuid.UUID | None = None
    organization: str | None = None  # the organisation holding the subject
    record_type: str | None = None
    categories: frozenset[Category] = frozenset()


@dataclass(frozen=True)
class ConsentGrant:
    """One granted purpose of one active consent (a consent with three purposes is three grants)."""

    consent_id: uuid.UUID
    subject_id: uuid.UUID
    purpose: str
    categories: frozenset[Category]
    recipients: frozenset[str]  # organisation codes allowed to receive the data
    expires_at: datetime | None


@dataclass(frozen=True)
class BreakGlassGrant:
    id: uuid.UUID
    user_id: uuid.UUID
    subject_id: uuid.UUID
    expires_at: datetime


@dataclass(frozen=True)
class DecisionContext:
    purpose: str | None
    assigned: bool
    consents: Sequence[ConsentGrant]
    break_glass: BreakGlassGrant | None
    now: datetime


@dataclass(frozen=True)
class Decision:
    """What the engine decided.

    ``allowed`` is the decision for the action as a whole. For reads,
    ``categories`` are the field categories that may be decrypted and
    ``withheld`` names each category of the resource that may not, with the
    reason (minimum necessary: the rest of the record is still returned).
    ``consent_id`` / ``break_glass_id`` name what allowed the release of the key.
    """

    allowed: bool
    policy_ids: tuple[str, ...]
    reason: str
    categories: frozenset[Category] = frozenset()
    withheld: Mapping[Category, str] = field(default_factory=dict)
    consent_id: uuid.UUID | None = None
    break_glass_id: uuid.UUID | None = None


class ConsentProvider(Protocol):
    """The consent capability, as the access and records capabilities see it."""

    def active_consents(self, subject_id: uuid.UUID, now: datetime) -> Sequence[ConsentGrant]:
        """Every granted purpose of the subject's consents active at ``now``."""
        ...
