"""Group commit on the event loop (SQLite): the same guarantees as the writer thread."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Connection, text

from tests.audit.conftest import sample_event
from tests.audit.fakes import InterceptedLog
from vault.audit.heads import HeadKeeper
from vault.audit.verify import verify_chain
from vault.crypto.signing import Signer
from vault.db import Database
from vault.errors import AuditUnavailable


@pytest.fixture
def loop_log(
    make_log: Callable[..., InterceptedLog], db: Database
) -> Callable[..., InterceptedLog]:
    """Audit logs that commit their async callers' events on the loop (SQLite only)."""
    if not db.is_sqlite:
        pytest.skip("events are committed on the loop only on an embedded SQLite store")

    def build(**overrides: Any) -> InterceptedLog:
        return make_log(on_loop=True, **overrides)

    return build


def stored(db: Database, query: str) -> list[Any]:
    with db.engine.connect() as conn:
        return list(conn.execute(text(query)).scalars())


async def until(done: Callable[[], bool]) -> None:
    """Return once ``done()`` holds, or after 5 s (the caller's assertion then fails)."""
    for _ in range(250):
        if done():
            return
        await asyncio.sleep(0.02)


def test_the_reads_of_one_loop_iteration_share_a_commit_and_keep_a_gapless_chain(
    loop_log: Callable[..., InterceptedLog], db: Database
) -> None:
    """Two hundred events appended together are committed on the loop in few transactions,
    each caller answered with its own seq, the chain gapless and intact."""
    log = loop_log()
    committed_on: set[str] = set()

    def note(_conn: Connection) -> None:
        committed_on.add(threading.current_thread().name)

    log.before_commit = note

    async def many() -> list[int]:
        return await asyncio.gather(*(log.append_async(sample_event(n)) for n in range(200)))

    seqs = asyncio.run(many())
    assert sorted(seqs) == list(range(1, 201))
    assert committed_on == {threading.current_thread().name}  # the loop's thread, no other
    report = verify_chain(db.engine)
    assert report.ok
    assert report.events == 200


def test_a_failed_commit_on_the_loop_fails_every_caller_of_its_batch(
    loop_log: Callable[..., InterceptedLog], db: Database
) -> None:
    """A batch that cannot be committed answers every caller AuditUnavailable, leaves no
    row, and the next event takes the next seq."""
    log = loop_log()

    def fail(_conn: Connection) -> None:
        raise RuntimeError("disk full")

    log.before_commit = fail

    async def together() -> list[Any]:
        calls = (log.append_async(sample_event(n)) for n in range(5))
        return await asyncio.gather(*calls, return_exceptions=True)

    outcomes = asyncio.run(together())
    assert all(isinstance(outcome, AuditUnavailable) for outcome in outcomes)
    assert stored(db, "SELECT count(*) FROM audit_events") == [0]
    log.before_commit = None
    assert asyncio.run(log.append_async(sample_event(9))) == 1


def test_while_another_holds_the_write_lock_the_loop_goes_on_and_the_event_is_committed(
    loop_log: Callable[..., InterceptedLog], db: Database
) -> None:
    """Another connection holds SQLite's write lock: the loop does not wait for it (other
    work runs meanwhile); the writer thread commits the event once the lock is free."""
    log = loop_log()
    path = db.engine.url.database
    assert path is not None
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def scenario() -> int:
        running = asyncio.ensure_future(ticker())
        asyncio.get_running_loop().call_later(0.4, holder.rollback)  # free the lock
        try:
            return await log.append_async(sample_event(0))
        finally:
            running.cancel()

    try:
        seq = asyncio.run(scenario())
    finally:
        holder.close()
    assert seq == 1
    assert ticks >= 10  # the loop kept running while the lock was held
    assert verify_chain(db.engine).ok


def test_heads_that_fall_due_on_the_loop_are_signed_on_a_thread_of_their_own(
    loop_log: Callable[..., InterceptedLog], db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Heads and checkpoints fall due every five events and are signed, never on the loop's
    thread; the newest covers at least the tenth event (however the signing and the
    appends interleave)."""
    checked_on: list[str] = []
    original = HeadKeeper.precheck

    def noted(keeper: HeadKeeper, cursor: Any, size: int) -> Any:
        checked_on.append(threading.current_thread().name)
        return original(keeper, cursor, size)

    monkeypatch.setattr(HeadKeeper, "precheck", noted)
    log = loop_log(signer=Signer(bytes(range(32))), checkpoint_every=5)

    async def one_by_one() -> None:
        for n in range(12):
            await log.append_async(sample_event(n))
        # The heads are signed aside: give them a moment.
        await until(lambda: (stored(db, "SELECT max(size) FROM audit_heads")[0] or 0) >= 10)

    asyncio.run(one_by_one())
    assert stored(db, "SELECT max(size) FROM audit_heads")[0] >= 10
    assert stored(db, "SELECT max(seq) FROM audit_checkpoints")[0] >= 10
    assert checked_on
    assert threading.current_thread().name not in checked_on


def test_a_quiet_log_on_the_loop_still_signs_its_tail_in_time(
    loop_log: Callable[..., InterceptedLog], db: Database
) -> None:
    """One event and then silence: the tail is signed once the checkpoint interval passes."""
    log = loop_log(checkpoint_every=1000, checkpoint_seconds=0.05)

    async def one_then_quiet() -> None:
        await log.append_async(sample_event(0))
        await until(lambda: bool(stored(db, "SELECT seq FROM audit_checkpoints")))

    asyncio.run(one_then_quiet())
    assert stored(db, "SELECT seq FROM audit_checkpoints") == [1]


def test_an_event_after_close_is_refused_on_the_loop(
    loop_log: Callable[..., InterceptedLog],
) -> None:
    """A closed log refuses new events: the caller learns it, nothing waits forever."""
    log = loop_log()
    log.close()
    with pytest.raises(AuditUnavailable):
        asyncio.run(log.append_async(sample_event(0)))


def test_a_quiet_tail_is_signed_in_time_on_a_later_loop_too(
    loop_log: Callable[..., InterceptedLog], db: Database
) -> None:
    """A loop that ended before its tail fell due does not keep a later loop from signing
    the tail once the interval passes."""
    log = loop_log(checkpoint_every=1000, checkpoint_seconds=0.3)
    asyncio.run(log.append_async(sample_event(0)))  # this loop closes at once

    async def another_then_quiet() -> None:
        await log.append_async(sample_event(1))
        await until(lambda: bool(stored(db, "SELECT seq FROM audit_checkpoints")))

    asyncio.run(another_then_quiet())
    assert stored(db, "SELECT seq FROM audit_checkpoints") == [2]


def test_a_forked_child_leaves_the_parents_connections_once_and_keeps_its_own(
    loop_log: Callable[..., InterceptedLog], db: Database
) -> None:
    """A process forked after the log wrote opens its own engine on its first event and
    keeps using it (it does not open a new one for every event), and its events chain on."""
    log = loop_log()
    asyncio.run(log.append_async(sample_event(0)))
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover  (the child reports through the pipe)
        try:

            async def three() -> set[int]:
                engines = set()
                for n in range(3):
                    await log.append_async(sample_event(n))
                    engines.add(id(log.engine))
                return engines

            engines = asyncio.run(three())
            os.write(write, str(len(engines)).encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    with os.fdopen(read) as report:
        assert report.read() == "1"
    assert stored(db, "SELECT max(seq) FROM audit_events") == [4]
    assert verify_chain(db.engine).ok
