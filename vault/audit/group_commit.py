"""Group commit: one writer thread per process takes the events of concurrent callers.

Why: a durable commit costs an fsync (~0.3 ms on SQLite here), so one commit
per request caps the whole service at a few hundred audited reads a second.
The writer takes every event queued by concurrent callers, hands them to the
log to write in ONE transaction, and only then releases each caller with its
sequence number (or with ``AuditUnavailable`` if the batch could not be written).
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from vault.audit.events import AuditEvent
from vault.errors import AuditUnavailable

log = logging.getLogger("vault.audit")


@dataclass(frozen=True)
class Pending:
    event: AuditEvent
    # A blocking caller waits on ``done``; an event-loop caller on ``waiter``,
    # settled on its loop (one wake-up of that loop per committed batch).
    done: Future[int] | None = None
    waiter: asyncio.Future[int] | None = None


Outcome = int | BaseException
_STOP = object()


def unconfirmed() -> AuditUnavailable:
    return AuditUnavailable("The audit log did not confirm the event in time.")


def log_failed_batch(count: int, exc: BaseException) -> None:
    """Log a batch that could not be committed, by class names only: a driver's message
    may quote the statement's parameters."""
    cause = getattr(exc, "orig", None)
    log.error(
        "audit: a batch of %d events could not be committed (%s%s)",
        count,
        type(exc).__name__,
        f": {type(cause).__name__}" if cause is not None else "",
    )


def refusals(batch: list[Pending]) -> list[tuple[Pending, AuditUnavailable]]:
    """``AuditUnavailable`` for every caller of a batch (one exception each: a raised
    exception carries its raiser's traceback)."""
    return [
        (pending, AuditUnavailable("The audit log could not record this access."))
        for pending in batch
    ]


def give_up(waiter: asyncio.Future[int]) -> None:
    """Fail a loop caller that waited too long (its timer fired first)."""
    if not waiter.done():
        waiter.set_exception(unconfirmed())


def time_out(waiter: asyncio.Future[int], seconds: float) -> None:
    """Fail ``waiter`` after ``seconds`` unless it is settled first (the timer then goes).

    A timer on the future itself: ``wait_for`` would wrap it in another task.
    """
    timer = waiter.get_loop().call_later(seconds, give_up, waiter)
    waiter.add_done_callback(lambda _settled: timer.cancel())


def settle(outcomes: Sequence[tuple[Pending, Outcome]]) -> None:
    """Release every caller of a batch: blocking ones here, loop ones on their loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[int], Outcome]]] = {}
    for pending, outcome in outcomes:
        if pending.done is not None:
            if isinstance(outcome, BaseException):
                pending.done.set_exception(outcome)
            else:
                pending.done.set_result(outcome)
        if pending.waiter is not None:
            by_loop.setdefault(pending.waiter.get_loop(), []).append((pending.waiter, outcome))
    for loop, waiters in by_loop.items():
        try:
            loop.call_soon_threadsafe(settle_on_loop, waiters)
        except RuntimeError:
            # The loop is closed: nobody is left to wait for these events.
            log.warning("audit: %d events confirmed after their loop closed", len(waiters))


def settle_on_loop(waiters: Sequence[tuple[asyncio.Future[int], Outcome]]) -> None:
    """Release loop callers, on their loop (a caller that gave up is skipped)."""
    for waiter, outcome in waiters:
        if waiter.done():  # its caller gave up (timeout or disconnect)
            continue
        if isinstance(outcome, BaseException):
            waiter.set_exception(outcome)
        else:
            waiter.set_result(outcome)


class GroupCommitWriter:
    """The queue and the one thread that drains it in batches.

    ``commit(batch)`` writes and settles a batch; ``idle()`` runs after each batch
    and when the queue stays empty for ``idle_timeout()`` seconds (None: forever).
    """

    def __init__(
        self,
        commit: Callable[[list[Pending]], None],
        idle: Callable[[], None],
        idle_timeout: Callable[[], float | None],
        *,
        batch_max: int,
        gather_seconds: float,
    ) -> None:
        self._commit = commit
        self._idle = idle
        self._idle_timeout = idle_timeout
        self._batch_max = batch_max
        self._gather_seconds = gather_seconds
        # Events announced by callers still deciding (``AuditLog.expecting``): the
        # writer waits up to gather_seconds for them. Changed on the loop, read here.
        self.expected = 0
        self._queue: queue.SimpleQueue[Pending | object] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._closed = False

    def put(self, pending: Pending) -> None:
        """Queue an event, starting the writer if it is not running (or was forked away)."""
        with self._lock:
            if self._closed:
                raise AuditUnavailable("The audit log is closed.")
            self._adopt_fork()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="vault-audit-writer", daemon=True
                )
                self._thread.start()
        self._queue.put(pending)

    @property
    def closed(self) -> bool:
        """Whether ``stop`` was called: no event is accepted any more."""
        return self._closed

    def adopt_fork(self) -> bool:
        """In a forked child, leave the parent's thread and queue behind, once: whether this
        call found the process forked (the caller drops the parent's connections too)."""
        with self._lock:
            return self._adopt_fork()

    def _adopt_fork(self) -> bool:
        if self._pid == os.getpid():
            return False
        self._pid = os.getpid()
        self._thread = None
        self._queue = queue.SimpleQueue()
        return True

    def stop(self) -> bool:
        """Write what is queued and stop the thread; False if it was already stopped."""
        with self._lock:
            if self._closed:
                return False
            self._closed = True
            thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put(_STOP)
            thread.join()
        return True

    def _run(self) -> None:
        stopping = False
        while not stopping:
            try:
                first = self._queue.get(timeout=self._idle_timeout())
            except queue.Empty:
                self._idle()
                continue
            if first is _STOP:
                break
            batch, stopping = self._gather(first)
            self._commit([item for item in batch if isinstance(item, Pending)])
            self._idle()

    def _gather(self, first: object) -> tuple[list[object], bool]:
        """The batch that starts with ``first``, and whether a stop came with it."""
        batch = [first]
        gather_until = time.monotonic() + self._gather_seconds
        while len(batch) < self._batch_max:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                # Wait a little for the events of reads already being decided
                # (announced with ``expecting``), so they share this commit;
                # with none announced (one client) nobody waits.
                left = gather_until - time.monotonic()
                if self.expected <= 0 or left <= 0:
                    break
                try:
                    item = self._queue.get(timeout=left)
                except queue.Empty:
                    break
            if item is _STOP:
                return batch, True
            batch.append(item)
        return batch, False


class ExpectedEvent:
    """One announced event (``AuditLog.expecting``); released once queued or abandoned."""

    __slots__ = ("_open", "_writer")

    def __init__(self, writer: GroupCommitWriter) -> None:
        self._writer = writer
        self._open = True
        writer.expected += 1

    def release(self) -> None:
        if self._open:
            self._open = False
            self._writer.expected -= 1
