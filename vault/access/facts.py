"""``AccessFacts``: the database facts a decision needs (assignment, break-glass grant).

Both are read on every request, in the caller's session, so that ending an
assignment or a grant takes effect on the very next request (no cache).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlmodel import col

from vault.access.model import BreakGlassGrant
from vault.access.models import Assignment, BreakGlass
from vault.cursor_reads import Reads

# Built once with bind parameters: building a select per call cost ~4x running it.
_ASSIGNED = (
    select(col(Assignment.id))
    .where(col(Assignment.user_id) == bindparam("user_id"))
    .where(col(Assignment.subject_id) == bindparam("subject_id"))
    .where(col(Assignment.ended_at).is_(None))
    .limit(1)
)
_BREAK_GLASS = (
    select(col(BreakGlass.id), col(BreakGlass.expires_at))
    .where(col(BreakGlass.user_id) == bindparam("user_id"))
    .where(col(BreakGlass.subject_id) == bindparam("subject_id"))
    .where(col(BreakGlass.expires_at) > bindparam("now"))
    .order_by(col(BreakGlass.expires_at).desc())
    .limit(1)
)


class AccessFacts:
    def is_assigned(self, session: Reads, user_id: uuid.UUID, subject_id: uuid.UUID) -> bool:
        found = session.execute(_ASSIGNED, {"user_id": user_id, "subject_id": subject_id}).first()
        return found is not None

    def break_glass(
        self, session: Reads, user_id: uuid.UUID, subject_id: uuid.UUID, now: datetime
    ) -> BreakGlassGrant | None:
        """The user's latest unexpired grant for the subject, or None."""
        row = session.execute(
            _BREAK_GLASS, {"user_id": user_id, "subject_id": subject_id, "now": now}
        ).first()
        if row is None:
            return None
        grant_id, expires_at = row
        return BreakGlassGrant(
            id=grant_id, user_id=user_id, subject_id=subject_id, expires_at=expires_at
        )
