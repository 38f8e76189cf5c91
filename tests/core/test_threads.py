"""``vault.threads``: store work runs inline or on a worker thread, context and all."""

from __future__ import annotations

import asyncio
import contextvars
import threading

from vault.db import WORKER_THREADS
from vault.threads import (
    STORE_THREADS,
    run_store_work,
    run_waiting_work,
    stop_worker_threads,
    use_worker_threads,
)

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


def test_other_work_runs_on_a_vault_store_thread_with_the_callers_context() -> None:
    """Remote store work goes to a store thread named for the vault, carrying the request id;
    work that waits on others goes to a handler thread."""

    async def run() -> tuple[tuple[str, str], tuple[str, str]]:
        await use_worker_threads()
        REQUEST.set("r-2")
        store = await run_store_work(False, _where)
        waiting = await run_waiting_work(_where)
        await stop_worker_threads()
        return store, waiting

    (store_thread, store_request), (waiting_thread, waiting_request) = asyncio.run(run())
    assert store_thread.startswith("vault-store")
    assert waiting_thread.startswith("vault-handler")
    assert store_request == waiting_request == "r-2"


def test_store_work_has_fewer_threads_than_handlers_and_they_end_at_shutdown() -> None:
    """At most STORE_THREADS run store work at once; the shutdown hook lets them end."""
    seen: set[threading.Thread] = set()
    started = threading.Barrier(STORE_THREADS, timeout=5)

    def hold() -> None:
        seen.add(threading.current_thread())
        started.wait()  # each batch of STORE_THREADS runs at once, or this times out

    async def run() -> None:
        await use_worker_threads()
        await asyncio.gather(*(run_store_work(False, hold) for _ in range(3 * STORE_THREADS)))
        await stop_worker_threads()

    asyncio.run(run())
    assert len(seen) == STORE_THREADS < WORKER_THREADS
    for thread in seen:
        thread.join(timeout=5)
    assert not [thread for thread in seen if thread.is_alive()]


def test_worker_pool_is_sized_like_the_connection_pool() -> None:
    """The executor has WORKER_THREADS threads, not asyncio's CPU-based default."""

    async def run() -> int:
        await use_worker_threads()
        loop = asyncio.get_running_loop()
        executor = loop._default_executor  # the executor the hook installed
        assert executor is not None
        return int(executor._max_workers)  # no public accessor

    assert asyncio.run(run()) == WORKER_THREADS
