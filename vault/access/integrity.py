"""Care-team rows and emergency grants that the audit log does not attest.

Decisions already ignore them (``vault.access.facts``, logged as critical on the
request that meets one); this lists them all, for the compliance dashboard and
``GET /v1/audit/access-check``, so that someone goes looking for who wrote them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import col

from vault.access.facts import AccessEvents
from vault.access.models import Assignment, BreakGlass
from vault.db import Database


@dataclass(frozen=True)
class AccessMismatch:
    kind: str  # "assignment" or "break_glass"
    row_id: uuid.UUID
    subject_id: uuid.UUID
    problem: str


def check_access_against_audit(db: Database, now: datetime) -> list[AccessMismatch]:
    """Active assignments and unexpired break-glass grants the audit log does not attest."""
    found: list[AccessMismatch] = []
    with db.read_session() as session:
        assignments = session.execute(
            select(col(Assignment.id), col(Assignment.user_id), col(Assignment.subject_id)).where(
                col(Assignment.ended_at).is_(None)
            )
        ).all()
        grants = session.execute(
            select(
                col(BreakGlass.id),
                col(BreakGlass.user_id),
                col(BreakGlass.subject_id),
                col(BreakGlass.expires_at),
            ).where(col(BreakGlass.expires_at) > now)
        ).all()
        events: dict[uuid.UUID, AccessEvents] = {}

        def of(subject_id: uuid.UUID) -> AccessEvents:
            if subject_id not in events:
                events[subject_id] = AccessEvents.of_subject(session, subject_id)
            return events[subject_id]

        for row_id, user_id, subject_id in assignments:
            problem = of(subject_id).assignment_problem(row_id, user_id)
            if problem is not None:
                found.append(AccessMismatch("assignment", row_id, subject_id, problem))
        for row_id, user_id, subject_id, expires_at in grants:
            problem = of(subject_id).grant_problem(row_id, user_id, expires_at)
            if problem is not None:
                found.append(AccessMismatch("break_glass", row_id, subject_id, problem))
    return found
