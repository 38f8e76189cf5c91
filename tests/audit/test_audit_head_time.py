"""A head's time is inside its signed text: a stale head cannot be re-dated."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from tests.audit.conftest import sample_event
from tests.audit.fakes import InterceptedLog
from vault.audit.cadence import check_heads
from vault.crypto.signing import Signer
from vault.db import Database
from vault.transparency import Checkpoint, Note

SEED = bytes(range(32))
SIGNED_AT = datetime(2025, 12, 1, 0, 1, 2, tzinfo=UTC)


def _notes(db: Database) -> list[str]:
    with db.engine.connect() as conn:
        return [str(row[0]) for row in conn.execute(text("SELECT note FROM audit_heads"))]


def test_a_head_signs_the_time_it_was_signed(
    make_log: Callable[..., InterceptedLog], db: Database
) -> None:
    """The note carries a `time` line (POSIX seconds) covered by the log's signature."""
    log = make_log(signer=Signer(SEED), clock=lambda: SIGNED_AT)
    log.append(sample_event(1))
    log.checkpoint_now()
    (note,) = _notes(db)
    checkpoint = Checkpoint.parse(Note.parse(note).text)
    assert checkpoint.time == int(SIGNED_AT.timestamp())
    assert f"\ntime {int(SIGNED_AT.timestamp())}\n" in Note.parse(note).text


def test_a_re_dated_head_is_still_too_old(
    make_log: Callable[..., InterceptedLog], db: Database
) -> None:
    """Moving an old head's stored time to now does not make it fresh: verify fails."""
    log = make_log(signer=Signer(SEED), clock=lambda: SIGNED_AT)
    for n in range(3):
        log.append(sample_event(n))
    log.checkpoint_now()
    now = SIGNED_AT + timedelta(days=30)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_heads SET time = :t"), {"t": now})
    keeper = log.heads()
    assert keeper is not None
    report = check_heads(log.engine, keeper, now, max_age_seconds=3600, max_lag=10_000)
    assert not report.ok
    assert report.problem is not None
    assert "time" in report.problem


def test_a_fresh_head_passes_and_its_signed_time_decides(
    make_log: Callable[..., InterceptedLog], db: Database
) -> None:
    """A head signed a minute ago is fresh; the same head an hour and more later is not."""
    log = make_log(signer=Signer(SEED), clock=lambda: SIGNED_AT)
    log.append(sample_event(1))
    log.checkpoint_now()
    keeper = log.heads()
    assert keeper is not None
    minute = SIGNED_AT + timedelta(minutes=1)
    later = SIGNED_AT + timedelta(hours=2)
    fresh = check_heads(log.engine, keeper, minute, max_age_seconds=3600, max_lag=10_000)
    stale = check_heads(log.engine, keeper, later, max_age_seconds=3600, max_lag=10_000)
    assert fresh.ok, fresh.problem
    assert not stale.ok
