"""Group commit on the event loop, for an embedded (SQLite) store.

A record read on SQLite is decided on the event loop itself (``vault.threads``);
its audit event then went to the writer thread and came back: the thread woke,
took the GIL from the loop, committed, and woke the loop again through its
self-pipe, once per batch of two or three events. Measured on a quiet two-core
machine (``bench/caseload_ab.py``, 32 connections): the caseload read ran at
0.60x-0.64x of a plain read with the writer thread, 1.04x with no audit event
at all (not a design, a measurement), and 0.87x-0.93x with the events of each
loop iteration committed on the loop, as here.

The guarantee is the writer thread's: a caller's ``append`` returns only once
its event is committed, and every caller of a batch that could not be committed
gets ``AuditUnavailable``. What changes is who waits: the loop runs the batch's
transaction itself (a few hundred microseconds, the fsync included), so the
chain's lock is taken without waiting. When another connection or process
holds it, the batch goes to the writer thread, which waits for the lock as
before, and the loop goes on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from vault.audit.events import AuditEvent
from vault.audit.group_commit import (
    Pending,
    log_failed_batch,
    refusals,
    settle_on_loop,
    time_out,
)
from vault.audit.schedule import CheckpointSchedule
from vault.errors import AuditUnavailable

__all__ = ["ChainBusy", "LoopCommitter"]

log = logging.getLogger("vault.audit")


class ChainBusy(Exception):
    """The chain's lock is held by another connection: the batch was not written."""


class LoopCommitter:
    """Gathers the events appended during one loop iteration; commits them on the loop.

    ``write(batch)`` commits a batch in one transaction without waiting for the
    chain's lock and returns its sequence numbers (raises ``ChainBusy`` if the
    lock is taken); ``hand_off(batch)`` queues a batch for the writer thread;
    ``sign_aside()`` signs a head on a thread of its own when ``schedule`` says
    one is due (never on the loop: a head's check reads every event since the
    last head).
    """

    def __init__(
        self,
        write: Callable[[list[Pending]], list[int]],
        hand_off: Callable[[list[Pending]], None],
        schedule: CheckpointSchedule,
        sign_aside: Callable[[], None],
        *,
        wait_seconds: float,
    ) -> None:
        self._write = write
        self._hand_off = hand_off
        self._schedule = schedule
        self._sign_aside = sign_aside
        self._wait_seconds = wait_seconds
        self._batch: list[Pending] | None = None
        # The idle timer and the loop it is on (a timer left on a closed loop never fires).
        self._timer: tuple[asyncio.AbstractEventLoop, asyncio.TimerHandle] | None = None

    async def append(self, event: AuditEvent) -> int:
        """Queue ``event`` for this iteration's commit and wait for it (its seq)."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[int] = loop.create_future()
        if self._batch is None:
            self._batch = []
            # After every callback ready now: the events of the reads decided in this
            # iteration share the commit.
            loop.call_soon(self._flush)
        self._batch.append(Pending(event, waiter=waiter))
        return await waiter

    def _flush(self) -> None:
        batch, self._batch = self._batch or [], None
        try:
            seqs = self._write(batch)
        except ChainBusy:
            self._to_writer(batch)
            return
        except BaseException as exc:
            log_failed_batch(len(batch), exc)
            _fail(batch)
            if not isinstance(exc, Exception):
                raise
            return
        settle_on_loop(list(zip(_waiters(batch), seqs, strict=True)))
        self._written(len(batch))

    def _written(self, count: int) -> None:
        """Count the batch toward the next head; a quiet log still signs its tail in time."""
        self._schedule.written(count)
        if self._schedule.due():
            self._sign_aside()
        timeout = self._schedule.idle_timeout()
        loop = asyncio.get_running_loop()
        if timeout is not None and (self._timer is None or self._timer[0] is not loop):
            self._timer = (loop, loop.call_later(timeout, self._when_idle))

    def _when_idle(self) -> None:
        self._timer = None
        if self._schedule.due():
            self._sign_aside()

    def _to_writer(self, batch: list[Pending]) -> None:
        """The writer thread waits for the lock; each caller waits no longer than usual."""
        for waiter in _waiters(batch):
            time_out(waiter, self._wait_seconds)
        try:
            self._hand_off(batch)
        except AuditUnavailable:  # the log closed meanwhile
            _fail(batch)


def _waiters(batch: list[Pending]) -> list[asyncio.Future[int]]:
    """The batch's loop callers (every event here was appended on the loop)."""
    return [pending.waiter for pending in batch if pending.waiter is not None]


def _fail(batch: list[Pending]) -> None:
    settle_on_loop(
        [
            (pending.waiter, refusal)
            for pending, refusal in refusals(batch)
            if pending.waiter is not None
        ]
    )
