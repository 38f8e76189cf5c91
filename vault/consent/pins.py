"""Wrong-PIN limits per subject, kept in the database so every worker process sees them.

A subject's PIN is four to eight digits: without a limit it falls to a few
thousand guesses. Each check first *reserves* an attempt: in one write
transaction that holds the subject's row (``SELECT ... FOR UPDATE`` on
PostgreSQL; SQLite write transactions begin IMMEDIATE, so they are serialised
anyway) it counts the recent failures and, below the limit, records the
attempt as a failure before the PIN is even looked at. A right PIN then clears
the count. So however many requests race, at most ``pin_max_failures`` PINs are
evaluated within ``pin_window_seconds``; the rest get 429 with Retry-After.
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlmodel import Session, col

from vault.config import Settings
from vault.consent.tables import PinFailure
from vault.errors import RateLimited
from vault.subjects.models import Subject


class PinGate:
    def __init__(self, settings: Settings) -> None:
        self.max_failures = settings.pin_max_failures
        self.window = timedelta(seconds=settings.pin_window_seconds)

    def reserve(
        self,
        session: Session,
        subject_id: uuid.UUID,
        now: datetime,
        *,
        lock: uuid.UUID | None = None,
    ) -> None:
        """Claim one PIN attempt for ``subject_id``, counted as a failure until cleared.

        ``subject_id`` is whose PIN it is: the subject's, or a guardian enrolment's
        id (then ``lock`` is the subject the guardian signs for). Call in a write
        transaction of its own, committed before the PIN is checked. Raises
        RateLimited (recording nothing) when the limit is reached.
        """
        # Serialise the attempts on one subject (a no-op lock on SQLite, whose write
        # transactions are already exclusive).
        held = lock or subject_id
        session.execute(select(col(Subject.id)).where(col(Subject.id) == held).with_for_update())
        since = now - self.window
        count, oldest = session.execute(
            select(func.count(), func.min(col(PinFailure.at))).where(
                col(PinFailure.subject_id) == subject_id, col(PinFailure.at) > since
            )
        ).one()
        if count >= self.max_failures and oldest is not None:
            if oldest.tzinfo is None:  # SQLite returns aggregates without the column type
                oldest = datetime.fromisoformat(str(oldest)).replace(tzinfo=now.tzinfo)
            wait = (oldest + self.window - now).total_seconds()
            raise RateLimited(
                "Too many wrong PINs for this person. Try again later.",
                retry_after=max(1, math.ceil(wait)),
            )
        session.add(PinFailure(subject_id=subject_id, at=now))

    def clear(self, session: Session, subject_id: uuid.UUID) -> None:
        session.execute(delete(PinFailure).where(col(PinFailure.subject_id) == subject_id))
