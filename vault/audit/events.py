"""What an audit event says, and the one call that records it.

An event never carries plaintext of a sensitive field, a password, a PIN or a
token: subjects and records are named by internal ids, fields by category.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class Outcome(StrEnum):
    ALLOW = "allow"
    DENY = "deny"
    INFO = "info"  # an event that is not an access decision (a login, a key rotation)
    ERROR = "error"


@dataclass(frozen=True)
class AuditEvent:
    action: str
    outcome: Outcome
    actor_id: uuid.UUID | None = None
    actor_role: str | None = None
    actor_org: str | None = None
    subject_id: uuid.UUID | None = None
    target_id: uuid.UUID | None = None  # a record, consent, user, assignment or grant id
    categories: tuple[str, ...] = ()
    purpose: str | None = None
    consent_id: uuid.UUID | None = None
    break_glass_id: uuid.UUID | None = None
    policy_ids: tuple[str, ...] = ()
    reason: str | None = None
    request_id: str | None = None
    client_addr: str | None = None
    # Small, non-sensitive facts (counts, versions, codes). Never field values.
    details: Mapping[str, str | int | bool | None] = field(default_factory=dict)

    @property
    def break_glass(self) -> bool:
        return self.break_glass_id is not None


class AuditSink(Protocol):
    def append(self, event: AuditEvent) -> int:
        """Record the event durably and return its sequence number.

        Blocks until the event is durable; raises ``AuditUnavailable`` if it
        cannot be, so the caller returns nothing it would have disclosed.
        """
        ...
