"""``AccessFacts``: the database facts a decision needs (assignment, break-glass grant).

Both are read on every request, in the caller's session, so that ending an
assignment or a grant takes effect on the very next request (no cache).

Both are plain rows, so each is also checked against the audit event that
created it (like consent grants, ``vault.consent.attestation``): an assignment
counts only if ``assignment.create`` named this user for this subject and no
``assignment.end`` followed; a break-glass grant only if ``break_glass.open``
was this user's, for this subject, with an expiry no earlier than the row's,
and no ``break_glass.review`` found it unjustified (which ends it at once).
A row inserted or revived in the database grants nothing; the service logs it
as critical.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlmodel import col

from vault.access.models import Assignment, BreakGlass
from vault.audit.attesting import (
    ASSIGNMENT_CREATE,
    ASSIGNMENT_END,
    BREAK_GLASS_OPEN,
    BREAK_GLASS_REVIEW,
    subject_events,
)
from vault.audit.canonical import format_time
from vault.cursor_reads import Ahead, Reads
from vault.vocabulary import BreakGlassGrant

log = logging.getLogger("vault.access")

# Built once with bind parameters: building a select per call cost ~4x running it.
_ASSIGNED = (
    select(col(Assignment.id))
    .where(col(Assignment.user_id) == bindparam("user_id"))
    .where(col(Assignment.subject_id) == bindparam("subject_id"))
    .where(col(Assignment.ended_at).is_(None))
)
_BREAK_GLASS = (
    select(col(BreakGlass.id), col(BreakGlass.expires_at))
    .where(col(BreakGlass.user_id) == bindparam("user_id"))
    .where(col(BreakGlass.subject_id) == bindparam("subject_id"))
    .where(col(BreakGlass.expires_at) > bindparam("now"))
    .order_by(col(BreakGlass.expires_at).desc())
    .limit(1)
)


@dataclass
class AccessEvents:
    assigned: dict[str, str] = field(default_factory=dict)  # assignment id -> user id
    ended: set[str] = field(default_factory=set)
    grants: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # id -> (user, exp)
    unjustified: set[str] = field(default_factory=set)  # grants a review ended at once

    @classmethod
    def of_subject(cls, session: Reads, subject_id: uuid.UUID) -> AccessEvents:
        found = cls()
        for event in subject_events(session, subject_id):
            found.fold(event)
        return found

    def fold(self, event: dict[str, Any]) -> None:
        """Take in one of the subject's events (again is harmless: every field is a set)."""
        target, details = event.get("target_id"), event.get("details") or {}
        if not target or event.get("outcome") == "deny":
            return  # a refused attempt attests nothing
        if event.get("action") == ASSIGNMENT_CREATE:
            self.assigned[target] = str(details.get("user_id"))
        elif event.get("action") == ASSIGNMENT_END:
            self.ended.add(target)
        elif event.get("action") == BREAK_GLASS_OPEN and event.get("outcome") == "allow":
            self.grants[target] = (str(event.get("actor_id")), details.get("expires_at"))
        elif event.get("action") == BREAK_GLASS_REVIEW and (
            details.get("outcome") == "unjustified"
        ):
            self.unjustified.add(target)

    def assignment_problem(self, assignment_id: uuid.UUID, user_id: uuid.UUID) -> str | None:
        """Why the log does not attest this active assignment of ``user_id``, or None."""
        key = str(assignment_id)
        if self.assigned.get(key) != str(user_id):
            return "no assignment.create for this user"
        if key in self.ended:
            return "the audit log says it ended"
        return None

    def grant_problem(
        self, grant_id: uuid.UUID, user_id: uuid.UUID, expires_at: datetime
    ) -> str | None:
        """Why the log does not attest this break-glass grant, or None."""
        opened = self.grants.get(str(grant_id))
        if opened is None or opened[0] != str(user_id):
            return "no break_glass.open by this user"
        if str(grant_id) in self.unjustified:
            return "a review found it unjustified and ended it"
        # Ending a grant early (an unjustified review) is allowed; extending it is not.
        if opened[1] is None or format_time(expires_at) > opened[1]:
            return "it expires later than it was opened for"
        return None


def _unattested(kind: str, row_id: uuid.UUID, problem: str) -> None:
    log.critical(
        "%s %s contradicts the audit log (%s); it is not used. Run `vault audit verify`.",
        kind,
        row_id,
        problem,
    )


class AccessFacts:
    def facts_ahead(
        self, user_id: uuid.UUID, subject_id: uuid.UUID, now: datetime, emergency: bool
    ) -> list[Ahead]:
        """The statements ``is_assigned`` (and ``break_glass``, for an emergency) run."""
        assigned: Ahead = (_ASSIGNED, {"user_id": user_id, "subject_id": subject_id})
        if not emergency:
            return [assigned]
        return [
            assigned,
            (_BREAK_GLASS, {"user_id": user_id, "subject_id": subject_id, "now": now}),
        ]

    def is_assigned(self, session: Reads, user_id: uuid.UUID, subject_id: uuid.UUID) -> bool:
        """Whether an active assignment, attested by the audit log, puts the user on the team."""
        params = {"user_id": user_id, "subject_id": subject_id}
        active = [row[0] for row in session.execute(_ASSIGNED, params).all()]
        if not active:
            return False
        events = AccessEvents.of_subject(session, subject_id)
        for assignment_id in active:
            problem = events.assignment_problem(assignment_id, user_id)
            if problem is None:
                return True
            _unattested("assignment", assignment_id, problem)
        return False

    def break_glass(
        self, session: Reads, user_id: uuid.UUID, subject_id: uuid.UUID, now: datetime
    ) -> BreakGlassGrant | None:
        """The user's latest unexpired grant for the subject, attested by the audit log, or None."""
        row = session.execute(
            _BREAK_GLASS, {"user_id": user_id, "subject_id": subject_id, "now": now}
        ).first()
        if row is None:
            return None
        grant_id, expires_at = row
        events = AccessEvents.of_subject(session, subject_id)
        problem = events.grant_problem(grant_id, user_id, expires_at)
        if problem is not None:
            _unattested("break-glass grant", grant_id, problem)
            return None
        return BreakGlassGrant(
            id=grant_id, user_id=user_id, subject_id=subject_id, expires_at=expires_at
        )
