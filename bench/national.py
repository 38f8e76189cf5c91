"""National size on PostgreSQL: 300,000 subjects, 10 million records, one audit chain.

The reusable generator of ``make bench-national`` (``bench/national_gen.py``,
``bench/national_load.py``): one subject written through the vault's services
(registration, PIN, care-team assignment, the rehabilitation consent, one
assessment and 32 progress notes: 34 records with the identity record, 43
audit events), then copied with COPY, each copy with its own ids, data key,
sealed fields, blind indexes, counselor (300 subjects each) and chained audit
events. Measured, on two stores built the same way (the small one with 300
subjects, about 10,000 records):

- the read of one record through the records service (decision, the audit
  event made durable, the key, the fields), random records of the counselors'
  own caseloads, alternating rounds on the two stores;
- KEK rotation of every subject's DEK (``rotate_keks``) while a separate
  process keeps fetching data keys (``bench/rotation.py``'s reader);
- ``vault audit verify --full`` over the whole chain, signing a tree head over
  it, and inclusion proofs of random events.

``BENCH_NATIONAL_SUBJECTS`` (full: 300,000), ``BENCH_NATIONAL_NOTES`` (32) and
``BENCH_NATIONAL_LOAD_SECONDS`` (full: 3,000) bound the load: it stops at the
count or the time, whichever comes first, and says how far it got.
``BENCH_NATIONAL_PROCESSES`` sets the pool that seals the copies (the cores).
PostgreSQL only; both schemas are dropped afterwards.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench import national_http
from bench.common import Mode, Row, Section, Target, main, percentile, pick
from bench.stores import postgres_reachable, postgres_url

SMALL_SUBJECTS = 300  # about 10,000 records: the baseline store


def _note(section: Section, text: str) -> None:
    load = os.getloadavg()
    section.notes.append(f"{text} (load {load[0]:.1f})")
    print(f"[national] {text} (load {load[0]:.1f})", file=sys.stderr, flush=True)


def _store(
    stack: ExitStack, subjects: int, notes: int, budget: float, section: Section, name: str
) -> tuple[dict[str, str], Any]:
    from sqlalchemy import create_engine

    from bench.national_gen import build_template, compile_template, settings_env
    from bench.national_load import load

    tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vault-national-")))
    env = settings_env(tmp, stack.enter_context(postgres_url()))
    started = time.perf_counter()
    template = build_template(env, counselors=max(1, -(-subjects // 300)), notes=notes)
    compiled = compile_template(template)
    engine = create_engine(env["VAULT_DATABASE_URL"])
    stack.callback(engine.dispose)
    last = [time.perf_counter()]

    def progress(done: int) -> None:
        if time.perf_counter() - last[0] > 60:
            last[0] = time.perf_counter()
            print(f"[national] {name}: {done + 1:,} subjects", file=sys.stderr, flush=True)

    loaded = load(
        engine,
        compiled,
        env["VAULT_KEYS_DIR"],
        subjects,
        caseload=300,
        spacing=60.0,
        processes=int(os.environ.get("BENCH_NATIONAL_PROCESSES", os.cpu_count() or 2)),
        sample_every=max(1, subjects // 10_000),
        budget=budget,
        progress=progress,
    )
    loaded.sample.append((template.subject_id, template.counselors[0], template.records))
    with engine.connect() as conn:
        counts = {
            table: int(conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one())
            for table in ("subjects", "records", "record_fields", "audit_events")
        }
        size = conn.exec_driver_sql(
            "SELECT pg_size_pretty(sum(pg_total_relation_size("
            "c.oid))) FROM pg_class c WHERE c.relnamespace = "
            "current_schema()::regnamespace"
        ).scalar_one()
    _note(
        section,
        f"{name} store: {counts['subjects']:,} subjects, {counts['records']:,} records, "
        f"{counts['record_fields']:,} field rows, {counts['audit_events']:,} audit events, "
        f"{size} on disk; built in {time.perf_counter() - started:.0f} s (COPY "
        f"{loaded.seconds:.0f} s, constraints and indexes {loaded.restore_seconds:.0f} s)",
    )
    _first_head(section, env, name)
    return env, (loaded, counts)


def _first_head(section: Section, env: dict[str, str], name: str) -> None:
    """Sign a head over the loaded log before serving it, and time it.

    The vault signs a head only after recomputing the tree over every event since
    its last one; the copies are one long tail. The vault would check it on a
    thread of its own during the timed reads; signed here, the reads are timed
    without that work beside them, and the check over a national log is timed.
    """
    from bench.national_gen import open_services

    services = open_services(env)
    try:
        started = time.perf_counter()
        services.audit.checkpoint_now()
    finally:
        services.close()
    _note(
        section,
        f"{name}: the first head over the loaded log signed in "
        f"{time.perf_counter() - started:.0f} s",
    )


async def _reads(services: Any, sample: list[Any], count: int, seconds: float) -> list[float]:
    from vault.vocabulary import Principal, Role

    rng = random.Random(len(sample))
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(times) < count and time.perf_counter() < deadline:
        subject_id, counselor, records = sample[rng.randrange(len(sample))]
        principal = Principal(id=counselor, role=Role.COUNSELOR, organization="lapas-national")
        started = time.perf_counter()
        view = await services.records.reader.read(
            principal, subject_id, records[rng.randrange(len(records))], "counseling"
        )
        times.append(time.perf_counter() - started)
        if not view.fields:
            raise RuntimeError("a read of the caseload released no field")
    return times


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _warm(section: Section, env: dict[str, str], sample: list[Any], name: str) -> None:
    """Read the sampled subjects' rows once (the pages the timed reads touch), then EXPLAIN one."""
    from sqlalchemy import create_engine

    from vault.records.rows import RECORD_READ

    engine = create_engine(env["VAULT_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            started = time.perf_counter()
            pages = conn.exec_driver_sql(
                "SELECT count(*), sum(length(f.ciphertext)) FROM records r "
                "JOIN record_fields f ON f.record_id = r.id WHERE r.subject_id = ANY(%(s)s)",
                {"s": [s for s, _, _ in sample]},
            ).one()
            _note(
                section,
                f"{name}: warmed {len(sample):,} sampled subjects' records ({pages[0]:,} field "
                f"rows) in {time.perf_counter() - started:.0f} s",
            )
            subject_id, _, records = sample[len(sample) // 2]
            compiled = RECORD_READ.compile(dialect=engine.dialect)
            plan = conn.exec_driver_sql(
                "EXPLAIN (ANALYZE, BUFFERS) " + str(compiled),
                {**compiled.params, "subject_id": subject_id, "record_id": records[-1]},
            ).all()
            print(f"[national] {name} RECORD_READ plan:", file=sys.stderr)
            for (line,) in plan:
                print(f"    {line}", file=sys.stderr)
    finally:
        engine.dispose()


def _measure_reads(section: Section, small: Any, big: Any, count: int, seconds: float) -> None:
    from bench.national_gen import open_services

    with ExitStack() as stack:
        stores = []
        for (env, (loaded, counts)), name in ((small, "small"), (big, "national")):
            _warm(section, env, loaded.sample, name)
            services = open_services(env)
            stack.callback(services.close)
            asyncio.run(_reads(services, loaded.sample, 200, 60))  # warm-up: statements, caches
            stores.append((services, loaded.sample, counts["records"], []))
        rss = _rss_mib()
        for _ in range(5):  # alternate, so the machine's other load favours neither
            for services, sample, _, times in stores:
                times += asyncio.run(_reads(services, sample, count // 5, seconds / 5))
        _note(
            section,
            f"resident memory of the reading process: {rss:.0f} MiB after the warm-up, "
            f"{_rss_mib():.0f} MiB after the timed reads",
        )
    (_, _, base_n, base), (_, _, big_n, big_t) = stores
    section.rows.append(
        Row(
            "national",
            "read 1 record through the records service, PostgreSQL",
            f"{big_n:,} records",
            percentile(big_t, 50) * 1e3,
            f"{base_n:,} records",
            percentile(base, 50) * 1e3,
            "ms",
            extra={
                "p99_ms": percentile(big_t, 99) * 1e3,
                "baseline_p99_ms": percentile(base, 99) * 1e3,
                "samples": len(big_t),
            },
        )
    )
    ratio = percentile(big_t, 50) / percentile(base, 50)
    section.targets.append(
        Target(f"read at {big_n:,} records vs {base_n:,}", "≤ 1.2x", f"{ratio:.2f}x", ratio <= 1.2)
    )
    _note(
        section,
        f"reads: p50 {percentile(big_t, 50) * 1e3:.2f} ms / p99 {percentile(big_t, 99) * 1e3:.2f}"
        f" ms at {big_n:,} records vs p50 {percentile(base, 50) * 1e3:.2f} ms / p99 "
        f"{percentile(base, 99) * 1e3:.2f} ms at {base_n:,} ({len(big_t)} and {len(base)} reads)",
    )


def _rotation(section: Section, env: dict[str, str], sample: list[uuid.UUID]) -> None:
    from bench.rotation import _Reader
    from vault.crypto.providers.file import FileKeyProvider
    from vault.db import Database
    from vault.keys.rotation import counts_by_version, rotate_keks

    url, keys_dir = env["VAULT_DATABASE_URL"], Path(env["VAULT_KEYS_DIR"])
    db = Database(url)
    provider = FileKeyProvider(keys_dir)
    try:
        reader = _Reader(url, keys_dir, sample)
        time.sleep(5.0)
        alone_ok, _, alone_s, _ = reader.finish()
        reader = _Reader(url, keys_dir, sample)
        started = time.perf_counter()
        result = rotate_keks(db, provider)
        seconds = time.perf_counter() - started
        during_ok, failed, during_s, error = reader.finish()
        after = counts_by_version(db)
    finally:
        db.dispose()
        provider.close()
    count = result.rewrapped + result.skipped
    section.rows.append(
        Row(
            "national",
            f"KEK rotation: rewrap {count:,} DEKs, PostgreSQL",
            "rotate_keks",
            seconds,
            "target",
            60.0,
            "s",
            extra={"rewrapped": result.rewrapped, "skipped": result.skipped},
        )
    )
    section.rows.append(
        Row(
            "national",
            "key fetches/s of a reader process, PostgreSQL",
            "during the rotation",
            during_ok / during_s if during_s else 0.0,
            "reader alone",
            alone_ok / alone_s if alone_s else 0.0,
            "fetches/s",
            extra={"failed_during": failed},
        )
    )
    section.targets.append(
        Target(
            f"rotate {count:,} DEKs with reads continuing",
            "< 60 s, no failed read",
            f"{seconds:.1f} s, {failed} failed",
            seconds < 60 and failed == 0,
        )
    )
    _note(
        section,
        f"rotation: {result.rewrapped:,} rewrapped in {seconds:.1f} s, {result.skipped} skipped, "
        f"versions after {after}; the reader fetched {during_ok / max(during_s, 1e-9):.0f} keys/s "
        f"during it vs {alone_ok / max(alone_s, 1e-9):.0f} alone, {failed} failures"
        + (f" (first: {error})" if error else ""),
    )


def _audit(section: Section, env: dict[str, str], events: int) -> None:
    from bench.national_gen import open_services
    from vault.audit.proofs import ProofSource

    bound = float(os.environ.get("BENCH_NATIONAL_VERIFY_SECONDS", "1200"))
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [str(Path(sys.executable).parent / "vault"), "audit", "verify", "--full", "--quiet"],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=bound,
            check=False,
        )
    except subprocess.TimeoutExpired:
        _note(
            section, f"`vault audit verify --full` of {events:,} events: not done in {bound:.0f} s"
        )
        done = None
    verify_s = time.perf_counter() - started
    if done is None:
        pass
    elif done.returncode != 0:
        raise RuntimeError(f"vault audit verify failed: {done.stdout} {done.stderr[-2000:]}")
    else:
        _note(section, f"`vault audit verify --full`: {done.stdout.strip()} in {verify_s:.0f} s")
    section.rows.append(
        Row(
            "national",
            f"`vault audit verify --full`, {events:,} events, PostgreSQL",
            "whole command" if done else f"not done in {bound:.0f} s",
            verify_s,
            "events/s",
            events / verify_s,
            "s",
        )
    )
    services = open_services(env)
    try:
        rss = _rss_mib()
        started = time.perf_counter()
        services.audit.checkpoint_now()
        head_s = time.perf_counter() - started
        _note(section, f"resident memory around signing a head: {rss:.0f} -> {_rss_mib():.0f} MiB")
        source = ProofSource(services.audit.engine, services.audit.heads())
        size = int(source.latest().size)
        rng = random.Random(5)
        times = []
        for _ in range(200):
            seq = rng.randrange(1, size + 1)
            started = time.perf_counter()
            bundle = source.inclusion(seq)
            times.append(time.perf_counter() - started)
            if not bundle:
                raise RuntimeError(f"no inclusion proof for seq {seq}")
    finally:
        services.close()
    section.rows.append(
        Row(
            "national",
            f"inclusion proof of a random event, tree of {size:,}",
            "ProofSource.inclusion",
            percentile(times, 50) * 1e3,
            "p99",
            percentile(times, 99) * 1e3,
            "ms",
            extra={"sign_head_s": head_s},
        )
    )
    _note(
        section,
        f"proofs: signing a tree head over {size:,} events took {head_s:.1f} s; an inclusion "
        f"proof p50 {percentile(times, 50) * 1e3:.1f} ms, p99 {percentile(times, 99) * 1e3:.1f} ms",
    )


def run(mode: Mode) -> Section:
    subjects = int(os.environ.get("BENCH_NATIONAL_SUBJECTS", pick(mode, 1_000, 30_000, 300_000)))
    # A size asked for by hand names its own result file: it must not replace the
    # day's run of the mode's own size, which the docs cite.
    name = "national" if "BENCH_NATIONAL_SUBJECTS" not in os.environ else f"national-{subjects}"
    section = Section(name=name, title="National size (PostgreSQL)")
    if not postgres_reachable():
        section.notes.append("PostgreSQL not reachable: nothing measured")
        return section
    notes = int(os.environ.get("BENCH_NATIONAL_NOTES", "32"))
    budget = float(os.environ.get("BENCH_NATIONAL_LOAD_SECONDS", pick(mode, 300, 1_200, 3_000)))
    _note(section, f"asked: {subjects:,} subjects, {notes + 2} records each; the machine is shared")
    with ExitStack() as stack:
        small = _store(stack, SMALL_SUBJECTS, notes, budget, section, "small")
        big = _store(stack, subjects, notes, budget, section, "national")
        _measure_reads(section, small, big, pick(mode, 500, 1_500, 3_000), pick(mode, 30, 60, 120))
        loaded, counts = big[1]
        _rotation(section, big[0], [s for s, _, _ in loaded.sample])
        national_http.measure(section, big[0], mode)
        _audit(section, big[0], counts["audit_events"])
    _note(section, "both schemas dropped")
    return section


if __name__ == "__main__":
    main("national", run)
