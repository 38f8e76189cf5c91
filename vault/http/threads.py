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
from concurrent.futures import ThreadPoolExecutor

from vault.db import WORKER_THREADS


async def use_worker_threads() -> None:
    """Startup hook: give the running loop an executor of ``WORKER_THREADS`` threads."""
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=WORKER_THREADS, thread_name_prefix="vault-handler")
    )
