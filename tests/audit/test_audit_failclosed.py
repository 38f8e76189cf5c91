"""The audit log fails closed, and stays one chain with several processes writing at once."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Connection, text

from tests.audit.conftest import sample_event
from tests.audit.fakes import InterceptedLog
from tests.audit.workers import append_from_process
from vault.audit.verify import verify_chain
from vault.config import Settings
from vault.db import Database
from vault.errors import AuditUnavailable


def count_events(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM audit_events")).scalar_one())


def test_a_failed_commit_fails_every_caller_in_the_batch(
    make_log: Callable[..., InterceptedLog], db: Database
) -> None:
    """When a batch's transaction breaks, each caller in it gets AuditUnavailable; no row stays."""
    log = make_log()
    log.append(sample_event(0))
    release = threading.Event()
    entered = threading.Event()

    def fail_after_insert(conn: Connection) -> None:
        # Hold the first failing batch until all callers are queued behind it, then break.
        entered.set()
        release.wait(5)
        raise RuntimeError("disk full")

    log.before_commit = fail_after_insert
    outcomes: list[str] = []

    def call(n: int) -> None:
        try:
            log.append(sample_event(n))
            outcomes.append("ok")
        except AuditUnavailable:
            outcomes.append("unavailable")

    with ThreadPoolExecutor(max_workers=9) as pool:
        pool.submit(call, 1)
        assert entered.wait(5)
        for n in range(2, 10):
            pool.submit(call, n)
        release.set()
    assert outcomes == ["unavailable"] * 9
    assert count_events(db) == 1
    log.before_commit = None
    assert log.append(sample_event(10)) == 2  # the chain goes on gapless once the store recovers
    assert verify_chain(db.engine).ok


def test_a_dropped_table_makes_append_raise(
    make_log: Callable[..., InterceptedLog], db: Database
) -> None:
    """With the audit table gone, append raises AuditUnavailable instead of returning."""
    log = make_log()
    log.append(sample_event(0))
    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE audit_events"))
    with pytest.raises(AuditUnavailable):
        log.append(sample_event(1))


def test_append_after_close_is_refused(make_log: Callable[..., InterceptedLog]) -> None:
    """A closed log never pretends to record an event."""
    log = make_log()
    log.close()
    with pytest.raises(AuditUnavailable):
        log.append(sample_event(0))


def test_a_writer_that_cannot_get_the_lock_times_out(
    settings: Settings, make_log: Callable[..., InterceptedLog], db: Database
) -> None:
    """A caller waiting on a stuck writer gives up with AuditUnavailable after its wait limit."""
    log = make_log(wait_seconds=0.2)
    release = threading.Event()
    log.before_commit = lambda conn: release.wait(5) and None
    try:
        with pytest.raises(AuditUnavailable):
            log.append(sample_event(0))
    finally:
        release.set()


def test_three_processes_appending_keep_one_gapless_chain(settings: Settings, db: Database) -> None:
    """Three processes x 4 threads x 40 events: seqs 1..120 once each, and the chain verifies."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(3) as pool:
        results = pool.starmap(
            append_from_process, [(settings.database_url, worker, 40) for worker in range(3)]
        )
    seqs = sorted(seq for result in results for seq in result)
    assert seqs == list(range(1, 121))
    report = verify_chain(db.engine)
    assert report.ok
    assert report.events == 120


def test_a_truncated_chain_is_not_extended_or_signed(
    make_log: Callable[..., InterceptedLog], db: Database
) -> None:
    """After rows it wrote vanish, the writer refuses to append to or checkpoint that chain."""
    log = make_log()
    for n in range(5):
        log.append(sample_event(n))
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq > 3"))
    with pytest.raises(AuditUnavailable):
        log.append(sample_event(9))
    with pytest.raises(AuditUnavailable, match="vault audit verify"):
        log.checkpoint_now()
    assert count_events(db) == 3
