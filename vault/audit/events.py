"""What an audit event says, and the one call that records it.

An event never carries plaintext of a sensitive field, a password, a PIN or a
token: subjects and records are named by internal ids, fields by category.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Protocol

from vault.vocabulary import AuthenticatedUser, EventAction, Principal

# ``details`` holds small facts, never content: short keys, short scalar values.
DETAIL_KEY = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
DETAIL_MAX_ITEMS = 32
DETAIL_MAX_STR = 256
DETAIL_MAX_INT = 2**63 - 1
REASON_MAX = 2000


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
    # When it happened; ``AuditLog.append`` fills it from the vault's clock if None.
    time: datetime | None = None

    def __post_init__(self) -> None:
        # Refuse here, where the event is built, rather than write something unbounded.
        object.__setattr__(self, "outcome", Outcome(self.outcome))
        object.__setattr__(self, "categories", tuple(self.categories))
        object.__setattr__(self, "policy_ids", tuple(self.policy_ids))
        if not self.action or len(self.action) > 64:
            raise ValueError("audit action must be 1 to 64 characters")
        if self.reason is not None and len(self.reason) > REASON_MAX:
            raise ValueError(f"audit reason longer than {REASON_MAX} characters")
        if self.time is not None and self.time.tzinfo is None:
            raise ValueError("audit event time must be timezone-aware")
        object.__setattr__(self, "details", MappingProxyType(_checked_details(self.details)))

    @property
    def break_glass(self) -> bool:
        return self.break_glass_id is not None

    @classmethod
    def by(
        cls,
        actor: Principal | AuthenticatedUser | None,
        action: EventAction,
        outcome: Outcome,
        **fields: Any,
    ) -> AuditEvent:
        """The one way to build an event done by someone (None: the host's command line).

        The actor's id, role and organisation are copied from the principal, so no
        caller can name one person and file the event under another's role.
        """
        if actor is None:
            return cls(action=action.value, outcome=outcome, **fields)
        return cls(
            action=action.value,
            outcome=outcome,
            actor_id=actor.id,
            actor_role=str(actor.role),
            actor_org=actor.organization,
            **fields,
        )


def _checked_details(details: Mapping[str, object]) -> dict[str, str | int | bool | None]:
    if len(details) > DETAIL_MAX_ITEMS:
        raise ValueError(f"audit details hold at most {DETAIL_MAX_ITEMS} items")
    checked: dict[str, str | int | bool | None] = {}
    for key, value in details.items():
        if not isinstance(key, str) or not DETAIL_KEY.match(key):
            raise ValueError("audit detail keys are short lowercase identifiers")
        if value is None or isinstance(value, bool):
            checked[key] = value
        elif isinstance(value, int):
            if abs(value) > DETAIL_MAX_INT:
                raise ValueError(f"audit detail {key!r} is too large an integer")
            checked[key] = value
        elif isinstance(value, str):
            if len(value) > DETAIL_MAX_STR:
                raise ValueError(f"audit detail {key!r} is longer than {DETAIL_MAX_STR}")
            checked[key] = value
        else:
            # The type is named, never the value: it might be the very thing to keep out.
            raise ValueError(
                f"audit detail {key!r} must be a str, int, bool or None, not {type(value).__name__}"
            )
    return checked


class AuditSink(Protocol):
    def append(self, event: AuditEvent) -> int:
        """Record the event durably and return its sequence number.

        Blocks until the event is durable; raises ``AuditUnavailable`` if it
        cannot be, so the caller returns nothing it would have disclosed.
        """
        ...
