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
from vault.subjects.models import Subject


@dataclass(frozen=True)
class AccessMismatch:
    kind: str  # "assignment" or "break_glass"
    row_id: uuid.UUID
    subject_id: uuid.UUID
    problem: str


def check_access_against_audit(
    db: Database, now: datetime, held_by: str | None = None
) -> list[AccessMismatch]:
    """Active assignments and unexpired break-glass grants the audit log does not attest
    (only those about subjects ``held_by`` holds, when it is given: the dashboard's
    organisation, whose check then costs its own subjects, not the whole vault's)."""
    found: list[AccessMismatch] = []
    held = select(col(Subject.id)).where(col(Subject.organization) == held_by)
    with db.read_session() as session:
        assignments_query = select(
            col(Assignment.id), col(Assignment.user_id), col(Assignment.subject_id)
        ).where(col(Assignment.ended_at).is_(None))
        grants_query = select(
            col(BreakGlass.id),
            col(BreakGlass.user_id),
            col(BreakGlass.subject_id),
            col(BreakGlass.expires_at),
        ).where(col(BreakGlass.expires_at) > now)
        if held_by is not None:
            assignments_query = assignments_query.where(col(Assignment.subject_id).in_(held))
            grants_query = grants_query.where(col(BreakGlass.subject_id).in_(held))
        assignments = session.execute(assignments_query).all()
        grants = session.execute(grants_query).all()
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
