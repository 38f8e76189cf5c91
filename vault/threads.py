"""The worker threads that run the vault's blocking handlers.

Litestar runs a ``sync_to_thread`` handler in the event loop's default executor,
and asyncio sizes that from the CPU count: ``min(32, cores + 4)``, six threads on
two cores. Six is plenty for a handler that only computes, but a record read
waits for its audit event to be durable (group commit: the writer gathers the
events of every waiting request into one commit). With six threads at most six
events share a commit, so throughput stalled at six reads per commit latency
while the CPU sat half idle (measured: 170 reads/s at 32 connections, the GIL
held 54% of the time). The executor is therefore sized like the connection pool.

Store work (``run_store_work``: a round trip or two and some computing, never a
wait on another request) has a smaller executor of its own. Forty threads all
runnable at once on a CPU-bound process cost more than their work: each hand-off
of the GIL between them is a context switch and a wake-up in the kernel.
"""

from __future__ import annotations

import asyncio
import contextvars
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from vault.db import WORKER_THREADS

T = TypeVar("T")

# Enough to keep the store and the cores busy while some threads wait on a round
# trip; every PostgreSQL read holds one of the reader's kept connections (16).
STORE_THREADS = 8
_STORE_EXECUTORS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ThreadPoolExecutor] = (
    weakref.WeakKeyDictionary()
)


async def use_worker_threads() -> None:
    """Startup hook: give the running loop an executor of ``WORKER_THREADS`` threads
    for handlers, and one of ``STORE_THREADS`` for store work."""
    loop = asyncio.get_running_loop()
    loop.set_default_executor(
        ThreadPoolExecutor(max_workers=WORKER_THREADS, thread_name_prefix="vault-handler")
    )
    _STORE_EXECUTORS[loop] = ThreadPoolExecutor(
        max_workers=STORE_THREADS, thread_name_prefix="vault-store"
    )


async def stop_worker_threads() -> None:
    """Shutdown hook: let the store executor's threads end (the loop ends its default one)."""
    executor = _STORE_EXECUTORS.pop(asyncio.get_running_loop(), None)
    if executor is not None:
        executor.shutdown(wait=False)


async def run_store_work(inline: bool, work: Callable[[], T]) -> T:
    """Run ``work`` (store reads and computing, no waiting on others) for a coroutine.

    ``inline`` (an embedded SQLite store and in-process keys): on the event loop
    itself. Such work is CPU bound (indexed reads from the page cache, a decision,
    an unwrap), holds the GIL either way, and a hand-off to a worker thread and
    back cost more than the work (measured: ~0.1 ms of CPU a hop, 2 hops a read).
    Otherwise (PostgreSQL over a socket, an HSM) in a worker thread, so a slow
    round trip never stalls the loop. Context variables go along either way.
    """
    if inline:
        return work()
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    # The handlers' executor where the startup hook did not run (a bare loop in a test).
    return await loop.run_in_executor(_STORE_EXECUTORS.get(loop), context.run, work)


async def run_waiting_work(work: Callable[[], T]) -> T:
    """Run ``work`` that may wait on others (an audit commit) in a handler thread."""
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(None, context.run, work)
