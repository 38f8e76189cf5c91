"""``vault.audit.cadence``: the signed heads form one chain, and the newest is fresh enough."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import text

from tests.audit.conftest import sample_event
from tests.audit.fakes import InterceptedLog
from vault.audit.cadence import HeadChainReport, check_heads
from vault.crypto.signing import Signer
from vault.db import Database, utcnow

SEED = bytes(range(32))


@pytest.fixture
def signed_log(make_log: Callable[..., InterceptedLog]) -> InterceptedLog:
    return make_log(signer=Signer(SEED))


def _grow(log: InterceptedLog, events: int) -> None:
    for n in range(events):
        log.append(sample_event(n))
    log.checkpoint_now()


def _check(
    log: InterceptedLog, *, age: float = 3600, lag: int = 1000, later: timedelta = timedelta(0)
) -> HeadChainReport:
    keeper = log.heads()
    assert keeper is not None
    return check_heads(log.engine, keeper, utcnow() + later, max_age_seconds=age, max_lag=lag)


def test_chain_of_fresh_heads_passes(signed_log: InterceptedLog) -> None:
    """Two heads, each naming the one before, young and close to the log: intact."""
    _grow(signed_log, 4)
    _grow(signed_log, 3)
    report = _check(signed_log)
    assert report == HeadChainReport(True, 2)


def test_old_newest_head_fails(signed_log: InterceptedLog) -> None:
    """A newest head older than the limit means heads stopped being signed."""
    _grow(signed_log, 2)
    assert _check(signed_log, age=3600).ok
    report = _check(signed_log, age=3600, later=timedelta(hours=2))
    assert not report.ok
    assert report.problem == "the newest signed tree head is too old"


def test_a_head_redated_in_the_table_fails(signed_log: InterceptedLog, db: Database) -> None:
    """The head's time is signed inside its note: a changed time column is found."""
    _grow(signed_log, 2)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_heads SET time = :t"), {"t": utcnow() - timedelta(hours=2)})
    report = _check(signed_log, age=3600)
    assert not report.ok
    assert report.problem is not None
    assert "re-dated" in report.problem


def test_events_far_beyond_the_newest_head_fail(signed_log: InterceptedLog) -> None:
    """More unsigned events after the newest head than allowed is reported with the count."""
    _grow(signed_log, 2)
    for n in range(5):
        signed_log.append(sample_event(n))
    report = _check(signed_log, lag=3)
    assert not report.ok
    assert report.problem == "5 events were appended after the newest head"
    assert _check(signed_log, lag=5).ok


def test_missing_head_in_the_middle_is_found(signed_log: InterceptedLog, db: Database) -> None:
    """Deleting a head breaks the chain of prev lines at the one after it."""
    _grow(signed_log, 2)
    _grow(signed_log, 2)
    _grow(signed_log, 2)
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_heads WHERE size = 4"))
    report = _check(signed_log)
    assert not report.ok
    assert report.problem == "a head is missing before the head of size 6"


def test_edited_head_does_not_verify(signed_log: InterceptedLog, db: Database) -> None:
    """A head whose signed note was changed in the store is refused."""
    _grow(signed_log, 3)
    with db.engine.begin() as conn:
        note = conn.execute(text("SELECT note FROM audit_heads")).scalar_one()
        conn.execute(text("UPDATE audit_heads SET note = :n"), {"n": note.replace("3\n", "4\n", 1)})
    report = _check(signed_log)
    assert not report.ok
    assert report.problem == "the head of size 3 does not verify"


def test_log_with_events_and_no_head_fails_an_empty_one_passes(
    signed_log: InterceptedLog, db: Database
) -> None:
    """No head at all is fine for an empty log, and a finding once events exist."""
    assert _check(signed_log) == HeadChainReport(True, 0)
    signed_log.append(sample_event(0))
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_heads"))
    report = _check(signed_log)
    assert (report.ok, report.problem) == (False, "no signed tree head")
