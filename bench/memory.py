"""Resident memory of one vault worker over a long caseload load (caches churning).

    .venv/bin/python -m bench.memory --mode quick      # or default / full

Builds a caseload (``bench.caseload.build``; ``BENCH_MEMORY_SUBJECTS``), serves
it by one uvicorn worker with a key cache smaller than the number of subjects
read (``BENCH_MEMORY_DEK_CACHE``, default 256), so the cache evicts all the
time, and loads it with random reads of the counselors' caseloads over 32
connections for ``BENCH_MEMORY_SECONDS``. The worker's resident memory (VmRSS)
is read before the load and every tenth of the load; the verdict compares the
last reading with the one after the first tenth (warm: every statement
prepared, the caches full). After the load: one ``record.read`` event per
answered read, and ``vault audit verify``.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import ExitStack
from pathlib import Path

from bench.caseload import _rss_mib, _vault_requests, build
from bench.common import REPO, Mode, Row, Section, Target, main, pick
from bench.http_read import _audited_reads, _chain_verifies, _free_port, _server, _settings_env
from bench.loadgen import load_many
from bench.stores import postgres_reachable, postgres_url


def run(mode: Mode) -> Section:
    section = Section(name="memory", title="Worker memory under a long load")
    subjects = int(os.environ.get("BENCH_MEMORY_SUBJECTS", pick(mode, 600, 1_500, 3_000)))
    seconds = float(os.environ.get("BENCH_MEMORY_SECONDS", pick(mode, 60, 300, 900)))
    cache = os.environ.get("BENCH_MEMORY_DEK_CACHE", "256")
    kind = "postgresql" if postgres_reachable() else "sqlite"
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vault-bench-mem-")))
        url = (
            stack.enter_context(postgres_url())
            if kind == "postgresql"
            else f"sqlite:///{tmp / 'vault.db'}"
        )
        port = _free_port()
        settings = {**_settings_env(tmp, port, url), "VAULT_DEK_CACHE_SIZE": cache}
        made = build(settings, subjects=subjects)
        env = {**os.environ, "PYTHONPATH": str(REPO), **settings}
        readings: list[float] = []
        answered = 0
        with _server("vault.app:app_from_env", env, tmp / "vault.log", port) as pid:
            lists = _vault_requests(port, made, len(made.readable), 4000, seed=3)
            start = _rss_mib(pid)
            for _ in range(10):
                result = load_many(port, lists, connections=32, max_seconds=seconds / 10)
                answered += result.ok
                readings.append(_rss_mib(pid))
        audited = _audited_reads(url)
        verified = _chain_verifies(env)
    warm, end = readings[0], readings[-1]
    section.rows.append(
        Row(
            "memory",
            f"RSS of one worker after {answered:,} reads of {subjects:,} subjects, {kind}",
            "end of the load",
            end,
            "after its first tenth",
            warm,
            "MiB",
            extra={"start_mib": start, "readings_mib": ", ".join(f"{r:.0f}" for r in readings)},
        )
    )
    section.notes.append(
        f"{kind}: {subjects:,} subjects ({made.records:,} records), key cache of {cache} keys, "
        f"{seconds:.0f} s of load, {answered:,} reads ({answered / seconds:,.0f}/s); RSS "
        f"{start:.0f} MiB before the load, then every tenth: "
        + ", ".join(f"{r:.0f}" for r in readings)
        + " MiB"
    )
    section.notes.append(
        f"{audited:,} record.read events for {answered:,} reads (the login's warm-up included "
        f"none); `vault audit verify`: {'ok' if verified else 'FAILED'}"
    )
    grew = end - warm
    section.targets.append(
        Target(
            "RSS flat once warm (end within 10% of the first tenth)",
            "<= 1.10x",
            f"{end / warm:.2f}x ({grew:+.0f} MiB)",
            end <= warm * 1.10,
        )
    )
    return section


if __name__ == "__main__":
    main("memory", run)
