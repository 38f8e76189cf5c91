"""National size on PostgreSQL: read latency at N records vs 10k, KEK rotation of many DEKs.

The reusable generator of ``make bench-national``: subjects, wrapped keys,
records and their sealed field rows bulk-loaded with COPY (``bench/scale.py``'s
generator, ten records a subject, five field rows a record), then the read of
one record measured at 10,000 records and at ``BENCH_NATIONAL_RECORDS``
(default 10,000,000 in ``--mode full``; the generator writes ten records a
subject, so that is 1,000,000 subjects' rows, not the issue's 300,000 with 33
each; set it to what the disk and the time allow), and
``BENCH_NATIONAL_DEKS`` wrapped DEKs (default 300,000) rewrapped by
``rotate_keks`` while a separate process keeps fetching keys
(``bench/rotation.py``).

PostgreSQL only (``VAULT_BENCH_POSTGRES_URL``); every table lives in a schema of
its own that is dropped afterwards. Bounded: each step stops on its own count
or time budget; ``make bench-national`` also runs it under ``timeout``.
"""

from __future__ import annotations

import os
import time

from bench.common import Mode, Section, main, pick
from bench.rotation import _one_backend
from bench.scale import _backend
from bench.stores import postgres_reachable


def run(mode: Mode) -> Section:
    section = Section(name="national", title="National size")
    if not postgres_reachable():
        section.notes.append("PostgreSQL not reachable: nothing measured")
        return section
    records = int(
        os.environ.get("BENCH_NATIONAL_RECORDS", pick(mode, 100_000, 1_000_000, 10_000_000))
    )
    deks = int(os.environ.get("BENCH_NATIONAL_DEKS", pick(mode, 10_000, 100_000, 300_000)))
    load = os.getloadavg()
    section.notes.append(f"load average before: {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}")
    started = time.perf_counter()
    _backend(section, "postgresql", [10_000, records], count=3_000, seconds=20.0)
    section.notes.append(
        f"read latency: {records:,} records bulk-loaded (COPY) and measured in "
        f"{time.perf_counter() - started:.0f} s"
    )
    started = time.perf_counter()
    _one_backend(section, "postgresql", deks, 4.0)
    section.notes.append(
        f"rotation of {deks:,} DEKs with a reader process fetching keys: "
        f"{time.perf_counter() - started:.0f} s in all"
    )
    return section


if __name__ == "__main__":
    main("national", run)
