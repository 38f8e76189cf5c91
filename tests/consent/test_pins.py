"""``vault.consent.pins``: a few wrong PINs per person per window, shared by every process."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from vault.config import Settings
from vault.consent.pins import PinGate
from vault.db import Database
from vault.errors import RateLimited
from vault.subjects.models import Subject

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def gate(settings: Settings) -> PinGate:
    return PinGate(settings.model_copy(update={"pin_max_failures": 3, "pin_window_seconds": 600}))


def _subject(db: Database) -> uuid.UUID:
    subject = Subject(organization="lapas-a", nik_index=uuid.uuid4().hex, register_index="r")
    with db.session() as session:
        session.add(subject)
    return subject.id


def _reserve(db: Database, gate: PinGate, subject_id: uuid.UUID, at: datetime) -> None:
    with db.session() as session:
        gate.reserve(session, subject_id, at)


def test_attempts_beyond_the_limit_wait_for_the_oldest_to_leave_the_window(
    db: Database, gate: PinGate
) -> None:
    """The fourth attempt in ten minutes is refused, told when the first one expires."""
    subject_id = _subject(db)
    for minute in range(3):
        _reserve(db, gate, subject_id, NOW + timedelta(minutes=minute))
    with pytest.raises(RateLimited) as refused:
        _reserve(db, gate, subject_id, NOW + timedelta(minutes=4))
    assert refused.value.retry_after == 6 * 60
    _reserve(db, gate, subject_id, NOW + timedelta(minutes=10, seconds=1))


def test_refused_attempt_is_not_counted(db: Database, gate: PinGate) -> None:
    """Hammering while refused does not push the wait further back."""
    subject_id = _subject(db)
    for _ in range(3):
        _reserve(db, gate, subject_id, NOW)
    for _ in range(5):
        with pytest.raises(RateLimited):
            _reserve(db, gate, subject_id, NOW + timedelta(minutes=1))
    _reserve(db, gate, subject_id, NOW + timedelta(minutes=10, seconds=1))


def test_right_pin_clears_the_count(db: Database, gate: PinGate) -> None:
    """After a right PIN the person has their full allowance again."""
    subject_id = _subject(db)
    for _ in range(3):
        _reserve(db, gate, subject_id, NOW)
    with db.session() as session:
        gate.clear(session, subject_id)
    for _ in range(3):
        _reserve(db, gate, subject_id, NOW)


def test_limit_is_per_person(db: Database, gate: PinGate) -> None:
    """One person's wrong PINs do not lock another out."""
    first, second = _subject(db), _subject(db)
    for _ in range(3):
        _reserve(db, gate, first, NOW)
    _reserve(db, gate, second, NOW)
