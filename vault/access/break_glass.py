"""Break-glass grants as the service reads them: views, the justification rule, the limits.

The limits on opening a grant are read from the audit log and the rows together
(``vault.access.grant_ledger``).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlmodel import Session, col

from vault.access.models import BreakGlass, ReviewOutcome
from vault.crypto.columns import ColumnSealer
from vault.errors import InvalidInput
from vault.identity.models import User

JUSTIFICATION_TABLE = "break_glass_grants"
MIN_JUSTIFICATION_CHARS = 30
MIN_JUSTIFICATION_WORDS = 5
MAX_JUSTIFICATION_CHARS = 2000
MAX_NOTE_CHARS = 2000
OPENERS_WINDOW = timedelta(days=30)
_WORD = re.compile(r"[^\W\d_]{2,}")


@dataclass(frozen=True)
class BreakGlassView:
    id: uuid.UUID
    user_id: uuid.UUID
    subject_id: uuid.UUID
    justification: str
    opened_at: datetime
    expires_at: datetime
    reviewed_at: datetime | None
    reviewer_id: uuid.UUID | None
    outcome: str | None

    @classmethod
    def of(cls, row: BreakGlass, sealer: ColumnSealer) -> BreakGlassView:
        return cls(
            id=row.id,
            user_id=row.user_id,
            subject_id=row.subject_id,
            justification=sealer.open(
                JUSTIFICATION_TABLE, "justification", row.id, row.justification
            ),
            opened_at=row.created_at,
            expires_at=row.expires_at,
            reviewed_at=row.reviewed_at,
            reviewer_id=row.reviewer_id,
            outcome=row.outcome,
        )

    def __repr__(self) -> str:  # the justification may carry health facts
        return f"BreakGlassView(id={self.id}, subject_id={self.subject_id}, outcome={self.outcome})"


@dataclass(frozen=True)
class Opener:
    """One person's break-glass grants over the last 30 days (for the dashboard)."""

    user_id: uuid.UUID
    username: str
    role: str
    grants: int
    unjustified: int


def check_justification(text: str) -> str:
    """A justification must read as a sentence: long enough, several real words."""
    text = " ".join(text.split())
    if len(text) > MAX_JUSTIFICATION_CHARS:
        raise InvalidInput(f"justification: at most {MAX_JUSTIFICATION_CHARS} characters")
    words = _WORD.findall(text)
    distinct = {word.casefold() for word in words}
    if (
        len(text) < MIN_JUSTIFICATION_CHARS
        or len(words) < MIN_JUSTIFICATION_WORDS
        or len(distinct) < MIN_JUSTIFICATION_WORDS - 1
    ):
        raise InvalidInput(
            "justification: write a sentence saying why the emergency needs this access "
            f"(at least {MIN_JUSTIFICATION_CHARS} characters and {MIN_JUSTIFICATION_WORDS} words)"
        )
    return text


def check_review(outcome: str, note: str | None) -> ReviewOutcome:
    try:
        verdict = ReviewOutcome(outcome)
    except ValueError:
        raise InvalidInput("outcome: 'justified' or 'unjustified'") from None
    if note is not None and len(note) > MAX_NOTE_CHARS:
        raise InvalidInput(f"note: at most {MAX_NOTE_CHARS} characters")
    return verdict


def grants_of_org(session: Session, organization: str, *, pending: bool) -> list[BreakGlass]:
    """Grants held by staff of the organisation, oldest first (only pending ones if asked)."""
    query = (
        select(BreakGlass)
        .join(User, col(User.id) == col(BreakGlass.user_id))
        .where(col(User.organization) == organization)
        .order_by(col(BreakGlass.created_at))
    )
    if pending:
        query = query.where(col(BreakGlass.reviewed_at).is_(None))
    return list(session.execute(query).scalars())


def openers_of_org(session: Session, organization: str, now: datetime) -> list[Opener]:
    """Who of the organisation opened grants in the last 30 days, most grants first."""
    unjustified = func.sum(
        case((col(BreakGlass.outcome) == ReviewOutcome.UNJUSTIFIED.value, 1), else_=0)
    )
    rows = session.execute(
        select(
            col(User.id),
            col(User.username),
            col(User.role),
            func.count(col(BreakGlass.id)),
            unjustified,
        )
        .join(User, col(User.id) == col(BreakGlass.user_id))
        .where(col(User.organization) == organization)
        .where(col(BreakGlass.created_at) > now - OPENERS_WINDOW)
        .group_by(col(User.id), col(User.username), col(User.role))
        .order_by(func.count(col(BreakGlass.id)).desc(), col(User.username))
    ).all()
    return [
        Opener(user_id=uid, username=name, role=role, grants=int(n), unjustified=int(u or 0))
        for uid, name, role, n, u in rows
    ]
