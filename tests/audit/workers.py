"""Code run in child processes by the multi-process audit tests (importable by spawn)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.audit.conftest import sample_event
from vault.audit.log import AuditLog


def append_from_process(url: str, worker: int, count: int) -> list[int]:
    """Append ``count`` events from four threads of a fresh process; return their seqs."""
    log = AuditLog(url, checkpoint_every=1_000_000)
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            return list(
                pool.map(lambda n: log.append(sample_event(worker * 1000 + n)), range(count))
            )
    finally:
        log.close()
