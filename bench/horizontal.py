"""Several `vault serve` workers on one PostgreSQL: reads/s, audit events/s, the chain lock.

    .venv/bin/python -m bench.horizontal --mode quick     # or default / full

Two measurements, each at 1, 2 and 4 worker processes (``BENCH_HORIZONTAL_WORKERS``):

* **Caseload reads over HTTP**: one caseload built through the services
  (``bench.caseload.build``), then ``vault serve --workers N`` loaded with random
  reads of the counselors' own caseloads over 32 connections. Reported: reads/s,
  audit events/s (rows the chain gained during the load, over its duration), and
  ``vault audit verify`` after each run.
* **The chain alone**: N processes, each an ``AuditLog`` appending from 32
  threads (its group commit), on one chain. This is the ceiling every worker
  shares: one advisory lock per batch, held through the batch's insert and its
  durable commit.

During both, a sampler on its own connection reads ``pg_stat_activity`` every
5 ms and counts how often some backend waits for the chain's advisory lock
(and how many wait): the lock is the ceiling when appends wait for it most of
the time while the CPU is not saturated. PostgreSQL only (``VAULT_BENCH_POSTGRES_URL``).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.caseload import _vault_requests, build
from bench.common import REPO, Mode, Row, Section, Target, main, pick
from bench.http_read import _chain_verifies, _free_port, _settings_env, listening
from bench.loadgen import load_many
from bench.stores import postgres_reachable, postgres_url


@dataclass
class LockWaits:
    samples: int = 0
    waiting: int = 0  # samples with at least one backend waiting for the chain lock
    waiters: int = 0  # sum over samples of the backends waiting

    @property
    def share(self) -> float:
        return self.waiting / self.samples if self.samples else 0.0

    @property
    def mean(self) -> float:
        return self.waiters / self.samples if self.samples else 0.0


@contextmanager
def _lock_sampler(url: str) -> Any:
    """Count, every 5 ms, the backends waiting for an advisory lock (the chain's)."""
    from vault.db import make_engine

    found = LockWaits()
    stop = threading.Event()
    engine = make_engine(url, pool=False)

    def sample() -> None:
        with engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            raw.autocommit = True  # type: ignore[union-attr]  # psycopg connection
            cursor = raw.cursor()  # type: ignore[union-attr]  # psycopg connection
            while not stop.is_set():
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'"
                )
                n = int(cursor.fetchone()[0])
                found.samples += 1
                found.waiting += n > 0
                found.waiters += n
                time.sleep(0.005)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        stop.set()
        thread.join(timeout=5)
        engine.dispose()


def _chain_length(url: str) -> int:
    from sqlalchemy import text

    from vault.db import make_engine

    engine = make_engine(url, pool=False)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM audit_events")).scalar_one())
    finally:
        engine.dispose()


@contextmanager
def _serve(env: dict[str, str], workers: int, port: int, log: Path) -> Any:
    """``vault serve --workers N`` on 127.0.0.1:port until the block ends."""
    command = [sys.executable, "-m", "vault.cli", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(workers)]
    with listening(command, env, log, port) as pid:
        time.sleep(1.0 + workers)  # every worker process up, not only the first
        yield pid


def _appender(url: str, threads: int, seconds: float, out: Any) -> None:
    """One process: an AuditLog appending from ``threads`` threads for ``seconds``."""
    from vault.audit.events import AuditEvent, Outcome
    from vault.audit.log import AuditLog

    audit = AuditLog(url)
    event = AuditEvent(
        action="record.read",
        outcome=Outcome.ALLOW,
        actor_id=uuid.uuid4(),
        actor_role="counselor",
        actor_org="lapas-national",
        subject_id=uuid.uuid4(),
        categories=("psychological",),
        purpose="counseling",
    )
    audit.append(event)  # the writer started and connected before the clock
    done = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def work() -> None:
        mine = 0
        while time.perf_counter() < deadline:
            audit.append(event)
            mine += 1
        with lock:
            done[0] += mine

    started = time.perf_counter()
    pool = [threading.Thread(target=work) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    out.put((done[0], time.perf_counter() - started))
    audit.close()


@dataclass
class _Run:
    workers: int
    rate: float
    events: float
    waits: LockWaits
    verified: bool
    errors: dict[int, int] = field(default_factory=dict)


def _http_runs(url: str, tmp: Path, mode: Mode, counts: list[int]) -> tuple[list[_Run], str]:
    subjects = int(os.environ.get("BENCH_HORIZONTAL_SUBJECTS", pick(mode, 300, 1_200, 3_000)))
    seconds = pick(mode, 5.0, 15.0, 30.0)
    port = _free_port()
    settings = _settings_env(tmp, port, url)
    made = build(settings, subjects=subjects)
    note = (
        f"built {made.subjects:,} subjects and {made.records:,} records through the services "
        f"in {made.seconds:.0f} s"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), **settings}
    runs = []
    for workers in counts:
        with _serve(env, workers, port, tmp / f"serve-{workers}.log"):
            lists = _vault_requests(port, made, 8, 4000, seed=workers)
            load_many(port, lists, connections=32, max_seconds=2.0)  # warm every worker
            before = _chain_length(url)
            with _lock_sampler(url) as waits:
                result = load_many(port, lists, connections=32, max_seconds=seconds)
            events = (_chain_length(url) - before) / result.elapsed
        runs.append(
            _Run(
                workers,
                result.throughput,
                events,
                waits,
                _chain_verifies(env),
                dict(result.errors),
            )
        )
        if result.errors:  # the exception names the server logged (never a message)
            logged = (tmp / f"serve-{workers}.log").read_text().splitlines()
            names = sorted({line.split(":")[0] for line in logged if "Error:" in line})
            note += f"; {workers} worker(s) logged: {', '.join(names[:5]) or 'nothing'}"
    return runs, note


def _chain_runs(url: str, mode: Mode, counts: list[int]) -> list[_Run]:
    from vault.db import make_engine

    seconds = pick(mode, 5.0, 10.0, 20.0)
    engine = make_engine(url)
    from vault.audit.models import AuditCheckpointRow, AuditHaltRow, AuditNodeRow, AuditRow

    for row in (AuditRow, AuditCheckpointRow, AuditNodeRow, AuditHaltRow):
        row.__table__.create(engine, checkfirst=True)  # type: ignore[attr-defined]  # SQLModel sets it
    engine.dispose()
    context = multiprocessing.get_context("spawn")
    runs = []
    for processes in counts:
        queue = context.Queue()
        procs = [
            context.Process(target=_appender, args=(url, 32, seconds, queue))
            for _ in range(processes)
        ]
        with _lock_sampler(url) as waits:
            for proc in procs:
                proc.start()
            answers = [queue.get(timeout=seconds + 120) for _ in procs]
            for proc in procs:
                proc.join(timeout=30)
        rate = sum(n / elapsed for n, elapsed in answers)
        runs.append(_Run(processes, rate, rate, waits, True))
    return runs


def run(mode: Mode) -> Section:
    section = Section(name="horizontal", title="Several workers on one PostgreSQL")
    if not postgres_reachable():
        section.notes.append("PostgreSQL not reachable: nothing measured")
        return section
    counts = [int(n) for n in os.environ.get("BENCH_HORIZONTAL_WORKERS", "1,2,4").split(",")]
    load = os.getloadavg()
    section.notes.append(f"load average before: {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}")
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vault-bench-hz-")))
        url = stack.enter_context(postgres_url())
        runs, note = _http_runs(url, tmp, mode, counts)
        section.notes.append(note)
    with postgres_url() as url:
        chain = _chain_runs(url, mode, counts)
    first = runs[0]
    for one in runs:
        section.rows.append(
            Row(
                "horizontal",
                f"caseload reads, {one.workers} worker(s), 32 connections",
                "reads",
                one.rate,
                "1 worker",
                first.rate,
                "req/s",
                extra={
                    "audit_events_per_s": one.events,
                    "chain_lock_waited_share": one.waits.share,
                    "chain_lock_mean_waiters": one.waits.mean,
                    "errors": str(one.errors),
                },
            )
        )
        section.notes.append(
            f"{one.workers} worker(s): {one.rate:,.0f} reads/s, {one.events:,.0f} audit events/s; "
            f"a backend waited for the chain lock in {100 * one.waits.share:.0f}% of samples "
            f"(mean {one.waits.mean:.2f} waiting); `vault audit verify`: "
            f"{'ok' if one.verified else 'FAILED'}"
            + (f"; non-200 answers {one.errors}" if one.errors else "")
        )
        section.targets.append(
            Target(
                f"audit chain valid after the {one.workers}-worker run",
                "ok",
                "ok" if one.verified else "FAILED",
                one.verified,
            )
        )
    base = chain[0]
    for one in chain:
        section.rows.append(
            Row(
                "horizontal",
                f"audit appends alone, {one.workers} process(es) x 32 threads, one chain",
                "events",
                one.rate,
                "1 process",
                base.rate,
                "events/s",
                extra={
                    "chain_lock_waited_share": one.waits.share,
                    "chain_lock_mean_waiters": one.waits.mean,
                },
            )
        )
        section.notes.append(
            f"chain alone, {one.workers} process(es): {one.rate:,.0f} events/s; a backend waited "
            f"for the chain lock in {100 * one.waits.share:.0f}% of samples "
            f"(mean {one.waits.mean:.2f} waiting)"
        )
    return section


if __name__ == "__main__":
    main("horizontal", run)
