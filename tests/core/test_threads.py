"""``vault.threads``: store work runs inline or on a worker thread, context and all."""

from __future__ import annotations

import asyncio
import contextvars
import threading

from vault.db import WORKER_THREADS
from vault.threads import run_store_work, use_worker_threads

REQUEST = contextvars.ContextVar("request", default="none")


def _where() -> tuple[str, str]:
    return threading.current_thread().name, REQUEST.get()


def test_inline_work_runs_on_the_event_loop_thread() -> None:
    """An embedded store's work stays on the loop's own thread."""

    async def run() -> tuple[str, str]:
        REQUEST.set("r-1")
        return await run_store_work(True, _where)

    thread, request = asyncio.run(run())
    assert thread == threading.current_thread().name
    assert request == "r-1"


def test_other_work_runs_on_a_vault_worker_with_the_callers_context() -> None:
    """Remote store work goes to a worker thread named for the vault, carrying the request id."""

    async def run() -> tuple[str, str]:
        await use_worker_threads()
        REQUEST.set("r-2")
        return await run_store_work(False, _where)

    thread, request = asyncio.run(run())
    assert thread.startswith("vault-handler")
    assert request == "r-2"


def test_worker_pool_is_sized_like_the_connection_pool() -> None:
    """The executor has WORKER_THREADS threads, not asyncio's CPU-based default."""

    async def run() -> int:
        await use_worker_threads()
        loop = asyncio.get_running_loop()
        executor = loop._default_executor  # the executor the hook installed
        assert executor is not None
        return int(executor._max_workers)  # no public accessor

    assert asyncio.run(run()) == WORKER_THREADS
