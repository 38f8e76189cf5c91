"""The worker threads that run the vault's blocking handlers.

Litestar runs a ``sync_to_thread`` handler in the event loop's default executor,
and asyncio sizes that from the CPU count: ``min(32, cores + 4)``, six threads on
two cores. Six is plenty for a handler that only computes, but a record read
waits for its audit event to be durable (group commit: the writer gathers the
events of every waiting request into one commit). With six threads at most six
events share a commit, so throughput stalled at six reads per commit latency
while the CPU sat half idle (measured: 170 reads/s at 32 connections, the GIL
held 54% of the time). The executor is therefore sized like the connection pool.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from vault.db import WORKER_THREADS

T = TypeVar("T")


async def use_worker_threads() -> None:
    """Startup hook: give the running loop an executor of ``WORKER_THREADS`` threads."""
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=WORKER_THREADS, thread_name_prefix="vault-handler")
    )


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
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(None, context.run, work)
