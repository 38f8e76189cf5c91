"""Wrong-PIN limits per subject, kept in the database so every worker process sees them.

A subject's PIN is four to eight digits: without a limit it falls to a few
thousand guesses. After ``pin_max_failures`` wrong PINs within
``pin_window_seconds`` the subject's PIN is not even checked until the oldest
failure leaves the window (429 with Retry-After). A right PIN clears the count.
The kiosk checks PINs through the same gate.
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


class PinGate:
    def __init__(self, settings: Settings) -> None:
        self.max_failures = settings.pin_max_failures
        self.window = timedelta(seconds=settings.pin_window_seconds)

    def check_open(self, session: Session, subject_id: uuid.UUID, now: datetime) -> None:
        """Raise RateLimited if the subject has too many recent wrong PINs."""
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

    def record_failure(self, session: Session, subject_id: uuid.UUID, now: datetime) -> None:
        session.add(PinFailure(subject_id=subject_id, at=now))

    def clear(self, session: Session, subject_id: uuid.UUID) -> None:
        session.execute(delete(PinFailure).where(col(PinFailure.subject_id) == subject_id))
