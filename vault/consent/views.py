"""A consent as read back: its row, its purposes, its ending, and its status at a given time."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import lru_cache

from sqlmodel import Session, col, select

from vault.consent.tables import Consent, ConsentEnding, ConsentPurpose, EndingKind
from vault.vocabulary import Category, ConsentGrant


class ConsentStatus(StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"
    SUPERSEDED = "superseded"
    EXPIRED = "expired"


def join_codes(codes: tuple[str, ...] | list[str]) -> str:
    return ",".join(codes)


def split_codes(joined: str) -> tuple[str, ...]:
    return tuple(part for part in joined.split(",") if part)


@lru_cache(maxsize=1024)
def _category_set(joined: str) -> frozenset[Category]:
    # Parsed once per distinct stored text: this runs for every grant of every read.
    return frozenset(Category(c) for c in split_codes(joined))


@lru_cache(maxsize=1024)
def _code_set(joined: str) -> frozenset[str]:
    return frozenset(split_codes(joined))


def stored_grant(
    consent_id: uuid.UUID,
    subject_id: uuid.UUID,
    purpose: str,
    categories: str,
    recipients: str,
    expires_at: datetime | None,
) -> ConsentGrant:
    """A granted purpose as the tables store it (codes joined by commas)."""
    return ConsentGrant(
        consent_id=consent_id,
        subject_id=subject_id,
        purpose=purpose,
        categories=_category_set(categories),
        recipients=_code_set(recipients),
        expires_at=expires_at,
    )


@dataclass(frozen=True)
class PurposeDecision:
    code: str
    granted: bool
    categories: tuple[Category, ...]
    recipients: tuple[str, ...]  # organisation codes, resolved at signing

    @classmethod
    def from_row(cls, row: ConsentPurpose) -> PurposeDecision:
        return cls(
            code=row.purpose,
            granted=row.granted,
            categories=tuple(Category(c) for c in split_codes(row.categories)),
            recipients=split_codes(row.recipients),
        )


@dataclass(frozen=True)
class ConsentRecord:
    row: Consent
    purposes: tuple[PurposeDecision, ...]
    ending: ConsentEnding | None

    @property
    def id(self) -> uuid.UUID:
        return self.row.id

    def status(self, now: datetime) -> ConsentStatus:
        """The status at ``now``: an ending recorded by then, else expiry by the clock."""
        if self.ending is not None and self.ending.at <= now:
            return ConsentStatus(self.ending.kind)
        if self.row.expires_at <= now:
            return ConsentStatus.EXPIRED
        return ConsentStatus.ACTIVE

    def ended_at(self, now: datetime) -> datetime | None:
        status = self.status(now)
        if status is ConsentStatus.ACTIVE:
            return None
        if self.ending is not None and self.ending.at <= now:
            return self.ending.at
        return self.row.expires_at

    def organizations(self) -> set[str]:
        """Every organisation named as a recipient of a granted purpose."""
        return {org for p in self.purposes if p.granted for org in p.recipients}


def load_consents(
    session: Session, *, subject_id: uuid.UUID | None = None, consent_id: uuid.UUID | None = None
) -> list[ConsentRecord]:
    """Consents of one subject (newest first), or the one consent ``consent_id``."""
    query = select(Consent)
    if subject_id is not None:
        query = query.where(col(Consent.subject_id) == subject_id)
    if consent_id is not None:
        query = query.where(col(Consent.id) == consent_id)
    rows = list(session.exec(query.order_by(col(Consent.signed_at).desc())).all())
    if not rows:
        return []
    ids = [row.id for row in rows]
    purposes: dict[uuid.UUID, list[PurposeDecision]] = {cid: [] for cid in ids}
    for prow in session.exec(
        select(ConsentPurpose)
        .where(col(ConsentPurpose.consent_id).in_(ids))
        .order_by(col(ConsentPurpose.position), col(ConsentPurpose.purpose))
    ).all():
        purposes[prow.consent_id].append(PurposeDecision.from_row(prow))
    endings = {
        e.consent_id: e
        for e in session.exec(
            select(ConsentEnding).where(col(ConsentEnding.consent_id).in_(ids))
        ).all()
    }
    # Detached, so they stay readable after the (read-only) session rolls back.
    for obj in [*rows, *endings.values()]:
        session.expunge(obj)
    return [ConsentRecord(row, tuple(purposes[row.id]), endings.get(row.id)) for row in rows]


__all__ = [
    "ConsentRecord",
    "ConsentStatus",
    "EndingKind",
    "PurposeDecision",
    "join_codes",
    "load_consents",
    "split_codes",
]
