"""``AuditLog.append_async``: the event loop's way to wait for durability, same guarantees."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest
from sqlalchemy import Connection

from tests.audit.conftest import sample_event
from tests.audit.fakes import InterceptedLog
from vault.audit.log import AuditLog
from vault.audit.verify import verify_chain
from vault.db import Database
from vault.errors import AuditUnavailable


def test_concurrent_async_appends_share_commits_and_keep_one_gapless_chain(
    make_log: Callable[..., InterceptedLog], db: Database
) -> None:
    """Two hundred concurrent async appends share commits and leave one gapless chain."""
    log = make_log()
    commits = 0

    def count(conn: Connection) -> None:
        nonlocal commits
        commits += 1

    log.before_commit = count

    async def many() -> list[int]:
        return await asyncio.gather(*(log.append_async(sample_event(n)) for n in range(200)))

    seqs = asyncio.run(many())
    assert sorted(seqs) == list(range(1, 201))
    # Group commit: the loop queued all 200 before the writer took them.
    assert commits < 200
    report = verify_chain(db.engine)
    assert report.ok
    assert report.events == 200


def test_async_and_blocking_callers_in_one_batch_all_learn_of_a_failure(
    make_log: Callable[..., InterceptedLog], db: Database
) -> None:
    """Every caller of a failed batch, blocking or async, gets AuditUnavailable."""
    log = make_log()
    log.append(sample_event(0))
    entered, release = threading.Event(), threading.Event()

    def fail(conn: Connection) -> None:
        entered.set()
        release.wait(5)
        raise RuntimeError("disk full")

    log.before_commit = fail
    blocking: list[str] = []

    def blocking_call() -> None:
        try:
            log.append(sample_event(1))
            blocking.append("ok")
        except AuditUnavailable:
            blocking.append("unavailable")

    first = threading.Thread(target=blocking_call)
    first.start()
    assert entered.wait(5)

    async def queued_behind() -> list[BaseException | int]:
        tasks = [asyncio.ensure_future(log.append_async(sample_event(n))) for n in range(2, 6)]
        await asyncio.sleep(0.05)  # queued while the first batch hangs
        release.set()
        return await asyncio.gather(*tasks, return_exceptions=True)

    outcomes = asyncio.run(queued_behind())
    first.join(5)
    assert blocking == ["unavailable"]
    assert all(isinstance(outcome, AuditUnavailable) for outcome in outcomes)
    log.before_commit = None
    assert asyncio.run(log.append_async(sample_event(9))) == 2  # gapless once it recovers
    assert verify_chain(db.engine).ok


def test_an_async_caller_gives_up_on_a_stuck_writer(
    make_log: Callable[..., InterceptedLog],
) -> None:
    """An async caller waits no longer than wait_seconds for a writer that is stuck."""
    log = make_log(wait_seconds=0.2)
    release = threading.Event()
    log.before_commit = lambda conn: release.wait(5) and None
    try:
        with pytest.raises(AuditUnavailable):
            asyncio.run(log.append_async(sample_event(0)))
    finally:
        release.set()


def test_append_async_after_close_is_refused(make_log: Callable[..., InterceptedLog]) -> None:
    """A closed log refuses an async append."""
    log = make_log()
    log.close()
    with pytest.raises(AuditUnavailable):
        asyncio.run(log.append_async(sample_event(0)))


def test_announced_events_share_one_commit(
    make_log: Callable[..., InterceptedLog], db: Database
) -> None:
    """An event announced with ``expecting`` is waited for: a read still deciding when
    the writer wakes joins the same commit instead of paying for its own."""
    log = make_log(gather_seconds=5.0)
    commits = 0

    def count(cursor: object) -> None:
        nonlocal commits
        commits += 1

    log.before_commit = count

    async def two_reads() -> list[int]:
        with log.expecting() as first, log.expecting() as second:
            early = asyncio.ensure_future(log.append_async(sample_event(1), first))
            await asyncio.sleep(0.05)  # the second decision takes a while
            late = asyncio.ensure_future(log.append_async(sample_event(2), second))
            return list(await asyncio.gather(early, late))

    assert asyncio.run(two_reads()) == [1, 2]
    assert commits == 1


def test_an_abandoned_announcement_is_withdrawn(make_log: Callable[..., InterceptedLog]) -> None:
    """A read that fails before its event (an exception while deciding) stops being
    waited for, so the writer never holds others back for it."""
    log = make_log(gather_seconds=5.0)
    with pytest.raises(RuntimeError), log.expecting():
        raise RuntimeError("the decision failed")
    assert log.expected == 0
    # With nothing announced, an event is committed without waiting for company.
    started = asyncio.run(_timed_append(log))
    assert started < 2.5  # far below the 5 s gather window


async def _timed_append(log: AuditLog) -> float:
    loop = asyncio.get_running_loop()
    begun = loop.time()
    await log.append_async(sample_event(0))
    return loop.time() - begun
