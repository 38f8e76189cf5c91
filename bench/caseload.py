"""A realistic workload: many subjects, counselors' caseloads, random reads of their own.

The generator (:func:`build`) goes through the vault's own services, exactly
the calls the API handlers make, so every row is what the API writes and every
one has its attesting audit event: an officer registers each subject (PIN,
blind indexes, a wrapped data key, the identity record), an administrator puts
one counselor on the subject's care team, the subject signs the rehabilitation
consent with the PIN (officer witness), and the counselor writes several
records. One counselor holds ``caseload`` subjects (300 by default, a real
caseload). The work runs on a few threads so the audit log's group commit
is used as it is in production.

The load (:func:`run`): several counselors at once, 32 connections shared out
among them; each request reads a random record of the connection's own
counselor's caseload for the purpose ``counseling``, so the decision memo, the
key cache and the attesting-events lookup miss as they would in real use. The
baseline reads random rows of a plain table of the same number of records
through SQLModel (``bench/plain_app.py``), served the same way. A second row
keeps the hot-record read (one record over and over) on the same stores.

The honesty checks: the number of ``record.read`` events allowed after the
load equals the reads answered, and ``vault audit verify`` passes.

Run alone: ``python -m bench.caseload --mode quick``. Subjects (SQLite,
PostgreSQL): quick 300/300, default 1,000/1,000, full 10,000/100,000 (the
issue's sizes; the build through the services takes ~50-150 ms a subject on
two shared cores); ``BENCH_CASELOAD_SUBJECTS``, ``BENCH_CASELOAD_PG_SUBJECTS``
and ``BENCH_CASELOAD_STORES`` (``sqlite,postgresql``) override.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from bench.common import Mode, Row, Section, Target, main, need, pick, settings_from_env
from bench.cpu import cpu_seconds, database_cpu_seconds
from bench.http_read import (
    PASSWORD,
    _audited_reads,
    _chain_verifies,
    _free_port,
    _server,
    _settings_env,
)
from bench.loadgen import LoadResult, load_many
from bench.stores import postgres_reachable, postgres_url

ORG = "lapas-national"
ASSESSMENT = {
    "instrument": "SRQ-20",
    "summary": "Reports low mood since the transfer; sleeps poorly; engaged in the session. " * 6,
    "observations": "Calm, oriented, good eye contact; speaks slowly about the family.",
    "risk_level": "moderate",
    "recommendations": "Weekly counseling; join the vocational workshop; family visit plan.",
}


def _note(n: int) -> dict[str, str]:
    return {
        "session_date": f"2026-{1 + n % 12:02d}-{1 + n % 28:02d}",
        "note": f"Session {n}: talked about the family visit and the workshop. " * 3,
        "next_steps": "Keep the weekly session; ask about the visit.",
    }


@dataclass
class Caseloads:
    """What :func:`build` made: each counselor's username and readable (subject, record) ids."""

    readable: dict[str, list[tuple[uuid.UUID, uuid.UUID]]] = field(default_factory=dict)
    subjects: int = 0
    records: int = 0
    seconds: float = 0.0


@contextmanager
def _no_fsync(env: dict[str, str]) -> Iterator[dict[str, str]]:
    """The build's own connections do not wait for the disk (the server's later do).

    Only the durability of the build's commits changes (SQLite ``synchronous=OFF``,
    PostgreSQL ``synchronous_commit=off``), never a row: the load measured later
    runs in a server of its own with the vault's settings.
    """
    import vault.db

    url = env["VAULT_DATABASE_URL"]
    if url.startswith("sqlite"):
        original = vault.db._sqlite_pragmas

        def pragmas(dbapi_connection: Any, record: Any) -> None:
            original(dbapi_connection, record)
            dbapi_connection.execute("PRAGMA synchronous=OFF")

        vault.db._sqlite_pragmas = pragmas
        try:
            yield env
        finally:
            vault.db._sqlite_pragmas = original
        return
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    options = f"{parsed.query.get('options', '')} -csynchronous_commit=off".strip()
    fast = parsed.update_query_dict({"options": options}).render_as_string(hide_password=False)
    yield {**env, "VAULT_DATABASE_URL": fast}


def _services(env: dict[str, str]) -> Any:
    from vault.services import build_services

    settings = settings_from_env(env)
    return build_services(settings, migrate=True)


def build(
    env: dict[str, str],
    *,
    subjects: int,
    caseload: int = 300,
    notes: int = 2,
    threads: int = 8,
) -> Caseloads:
    """Subjects, care teams, consents and records through the services (see the module doc).

    ``notes`` progress notes are written for every subject beside one
    psychological assessment, so a subject has ``notes + 1`` records.
    """
    need("vault.subjects.registration", "subject registration (vault/subjects)")
    started = time.perf_counter()
    with _no_fsync(env) as fast_env:
        return _build(fast_env, subjects, caseload, notes, threads, started)


def _build(
    env: dict[str, str], subjects: int, caseload: int, notes: int, threads: int, started: float
) -> Caseloads:
    from vault.consent.service import SignRequest
    from vault.subjects.registration import NewSubject
    from vault.vocabulary import Principal, Role

    services = _services(env)
    try:
        services.identity.create_organization(ORG, "Lapas Bench Nasional", "imipas")

        def staff(username: str, role: Role) -> Principal:
            user = services.identity.create_user(username, PASSWORD, role.value, ORG)
            return Principal(id=user.id, role=role, organization=ORG)

        officer = staff("bench-officer", Role.OFFICER)
        admin = staff("bench-admin", Role.ADMIN)
        counselors = [
            (f"bench-counselor-{i}", staff(f"bench-counselor-{i}", Role.COUNSELOR))
            for i in range(max(1, -(-subjects // caseload)))
        ]
        out = Caseloads(readable={name: [] for name, _ in counselors})

        def one(n: int) -> tuple[str, list[tuple[uuid.UUID, uuid.UUID]]]:
            name, counselor = counselors[n // caseload]
            pin = f"{(n * 7919 + 104729) % 10**6:06d}"
            subject_id = services.subjects.register(
                officer,
                NewSubject(
                    full_name=f"Bench Subject {n}",
                    nik=f"31{n:014d}",
                    register_number=f"B.I-{n}/2026",
                    date_of_birth=date(1980 + n % 25, 1 + n % 12, 1 + n % 28),
                    organization=ORG,
                ),
            )
            # The subject's PIN, given on the host as the demo does (in life: at the kiosk).
            services.consents.choose_pin(subject_id, pin, pin, witness=None, kiosk_session=None)
            services.access.assign(admin, counselor.id, subject_id)
            services.consents.sign(
                officer,
                subject_id,
                SignRequest(
                    form_id="rehabilitation",
                    form_version=1,
                    language="id",
                    granted_purposes=frozenset({"counseling", "social_reintegration"}),
                    pin=pin,
                ),
            )
            made = [
                services.records.create_record(
                    counselor, subject_id, "psychological_assessment", ASSESSMENT
                ).id
            ]
            made += [
                services.records.create_record(counselor, subject_id, "progress_note", _note(k)).id
                for k in range(notes)
            ]
            return name, [(subject_id, record_id) for record_id in made]

        with ThreadPoolExecutor(threads) as pool:
            done = pool.map(one, range(subjects)) if threads > 1 else map(one, range(subjects))
            for name, pairs in done:
                out.readable[name].extend(pairs)
                out.records += len(pairs)
        out.subjects = subjects
    finally:
        services.close()
    out.seconds = time.perf_counter() - started
    return out


def _prepare_plain(url: str, count: int, keep: int | None = None) -> list[str]:
    """A plain table of ``count`` unencrypted rows (the assessment's five fields).

    Returns the rows' ids, or a random ``keep`` of them (a national-size table's
    ten million ids would cost a gigabyte of strings to hold).
    """
    from sqlmodel import SQLModel

    from bench.bulk import bulk_insert
    from bench.plain_app import PlainRecord
    from vault.db import make_engine

    table = PlainRecord.__table__  # type: ignore[attr-defined]  # SQLModel sets it
    engine = make_engine(url)
    SQLModel.metadata.create_all(engine, tables=[table])
    every = 1 if keep is None else max(1, count // keep)
    kept: list[uuid.UUID] = []

    def rows() -> Iterator[dict[str, Any]]:
        for n in range(count):
            record_id = uuid.uuid4()
            if n % every == 0:
                kept.append(record_id)
            yield {
                "id": record_id,
                "subject_id": uuid.uuid4(),
                "record_type": "psychological_assessment",
                **ASSESSMENT,
            }

    bulk_insert(engine, table, rows())
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    return [str(i) for i in kept]


def _login(port: int, username: str) -> dict[str, str]:
    import httpx

    answer = httpx.post(
        f"http://127.0.0.1:{port}/v1/auth/login",
        json={"username": username, "password": PASSWORD},
        timeout=30,
    )
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _vault_requests(
    port: int, made: Caseloads, readers: int, per_reader: int, seed: int
) -> list[list[tuple[str, dict[str, str]]]]:
    """One list of (path, headers) per reading counselor: random records of their caseload."""
    rng = random.Random(seed)
    names = [n for n, pairs in made.readable.items() if pairs][:readers]
    lists = []
    for name in names:
        headers = _login(port, name)
        pairs = made.readable[name]
        lists.append(
            [
                (f"/v1/subjects/{s}/records/{r}?purpose=counseling", headers)
                for s, r in (pairs[rng.randrange(len(pairs))] for _ in range(per_reader))
            ]
        )
    return lists


def _rss_mib(pid: int) -> float:
    """Resident memory of a process, from /proc (0 where there is none)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return 0.0
    return 0.0


# The workload of ``serve_and_load(one_counselor=True)``.
ONE_COUNSELOR = "one counselor"


@dataclass
class _Spent:
    """CPU seconds of one target's server and of PostgreSQL over its timed loads."""

    server: float = 0.0
    database: float = 0.0
    reads: int = 0


@dataclass
class _Measured:
    results: dict[tuple[str, str], list[LoadResult]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    made: Caseloads | None = None


def _measure(kind: str, url: str, tmp: Path, mode: Mode, subjects: int) -> _Measured:
    made = build(_settings_env(tmp, _free_port(), url), subjects=subjects)
    note = (
        f"{kind}: built {made.subjects:,} subjects, {made.records:,} records, "
        f"{len(made.readable)} counselors of <= 300 subjects through the services "
        f"in {made.seconds:.0f} s"
    )
    chosen = [name for name, pairs in made.readable.items() if pairs][: pick(mode, 4, 8, 8)]
    made.readable = {name: made.readable[name] for name in chosen}
    return serve_and_load(kind, url, tmp, mode, made, [note])


def serve_and_load(
    kind: str,
    url: str,
    tmp: Path,
    mode: Mode,
    made: Caseloads,
    notes: list[str],
    one_counselor: bool = False,
) -> _Measured:
    """Serve the built store and a plain table of as many rows; load both in rounds.

    ``tmp`` holds the store's keys (``tmp / "keys"``); the store is ``url``. Every
    counselor of ``made`` reads (at most 8 of them by the mode's default).
    ``one_counselor``: in the same rounds, all connections read the first
    counselor's caseload alone (how the ratio depends on how many read at once).
    """
    seconds = pick(mode, 4.0, 12.0, 30.0)
    rounds = pick(mode, 1, 2, 3)
    readers = len(made.readable)
    connections = 32
    base_env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    vault_port, plain_port = _free_port(), _free_port()
    settings_env = _settings_env(tmp, vault_port, url)
    measured = _Measured(made=made, notes=list(notes))
    audited_before = _audited_reads(url)  # reads of the store before this load (none if built)
    started = time.perf_counter()
    plain_ids = _prepare_plain(url, made.records, keep=100_000)
    measured.notes.append(
        f"{kind}: plain table of {made.records:,} rows written in "
        f"{time.perf_counter() - started:.0f} s"
    )
    rng = random.Random(11)
    plain_paths = [[(f"/plain/{rng.choice(plain_ids)}", {}) for _ in range(4000)]]
    hot_plain = [[(f"/plain/{plain_ids[0]}", {})]]
    vault_env = {**base_env, **settings_env}
    plain_env = {**base_env, "BENCH_PLAIN_DATABASE_URL": url}
    answered = 0
    # CPU seconds of each target's server and of PostgreSQL during its timed loads.
    spent: dict[tuple[str, str], _Spent] = {}
    with (
        _server(
            "vault.app:app_from_env", vault_env, tmp / f"vault-{kind}.log", vault_port
        ) as vault_pid,
        _server(
            "bench.plain_app:create_plain_app", plain_env, tmp / f"plain-{kind}.log", plain_port
        ) as plain_pid,
    ):
        vault_lists = _vault_requests(vault_port, made, readers, 4000, seed=5)
        hot_vault = [[vault_lists[0][0]]]
        targets = {
            ("caseload", "vault"): (vault_port, vault_lists),
            ("caseload", "plain"): (plain_port, plain_paths),
            ("hot", "vault"): (vault_port, hot_vault),
            ("hot", "plain"): (plain_port, hot_plain),
        }
        if one_counselor:
            targets[(ONE_COUNSELOR, "vault")] = (vault_port, vault_lists[:1])
        rss_start = _rss_mib(vault_pid)
        for _ in range(rounds):
            for key, (port, lists) in targets.items():
                warm = load_many(port, lists, connections=connections, max_seconds=1.0)
                pid = vault_pid if key[1] == "vault" else plain_pid
                before = (cpu_seconds(pid), database_cpu_seconds())
                result = load_many(
                    port, lists, connections=connections, max_seconds=seconds / rounds
                )
                used = spent.setdefault(key, _Spent())
                used.server += cpu_seconds(pid) - before[0]
                used.database += database_cpu_seconds() - before[1]
                used.reads += result.ok
                measured.results.setdefault(key, []).append(result)
                if key[1] == "vault":
                    answered += warm.ok + result.ok
        for (workload, server), used in spent.items():
            per_read = 1e3 / max(used.reads, 1)
            measured.notes.append(
                f"{kind}: {workload}, {server}: CPU per read: server "
                f"{used.server * per_read:.2f} ms, database {used.database * per_read:.2f} ms"
            )
        measured.notes.append(
            f"{kind}: resident memory of the vault worker {rss_start:.0f} MiB before the load, "
            f"{_rss_mib(vault_pid):.0f} MiB after {answered:,} reads (DEK cache and "
            f"decision memo bounded)"
        )
    audited = _audited_reads(url) - audited_before
    if audited != answered:
        raise RuntimeError(f"{kind}: the vault answered {answered} reads but recorded {audited}")
    started = time.perf_counter()
    verified = "ok" if _chain_verifies(vault_env) else "FAILED"
    measured.notes.append(
        f"{kind}: every answered read left its audit event: {audited:,} record.read events for "
        f"{answered:,} reads; `vault audit verify`: {verified} "
        f"({time.perf_counter() - started:.1f} s)"
    )
    return measured


def _merge(results: list[LoadResult]) -> LoadResult:
    merged = LoadResult(connections=results[0].connections, elapsed=sum(r.elapsed for r in results))
    for result in results:
        merged.latencies += result.latencies
        for status, count in result.errors.items():
            merged.errors[status] = merged.errors.get(status, 0) + count
    return merged


def rows(section: Section, kind: str, measured: _Measured) -> None:
    """The run's rows, notes and target (>= 0.8x of the plain random read)."""
    made = measured.made
    records = made.records if made else 0
    ratio = 0.0
    workloads = [
        ("caseload", f"random records of own caseload ({records:,} records)"),
        ("hot", "one hot record"),
    ]
    if (ONE_COUNSELOR, "vault") in measured.results:
        workloads.append((ONE_COUNSELOR, "random records of one counselor's caseload alone"))
    for workload, label in workloads:
        vault = _merge(measured.results[(workload, "vault")])
        # The one counselor's reads are compared with the same random plain reads.
        baseline = "caseload" if workload == ONE_COUNSELOR else workload
        plain = _merge(measured.results[(baseline, "plain")])
        row = Row(
            "caseload read",
            f"{label}, 32 connections, {kind}",
            "vault",
            vault.throughput,
            "plain Litestar + SQLModel, random rows"
            if baseline == "caseload"
            else "plain Litestar + SQLModel, one row",
            plain.throughput,
            "req/s",
            extra={
                "vault_p50_ms": vault.p(50) * 1e3,
                "vault_p99_ms": vault.p(99) * 1e3,
                "plain_p50_ms": plain.p(50) * 1e3,
                "plain_p99_ms": plain.p(99) * 1e3,
                "vault_errors": str(vault.errors),
                "plain_errors": str(plain.errors),
            },
        )
        section.rows.append(row)
        section.rows.append(
            Row(
                "caseload read",
                f"p50 latency, {label}, {kind}",
                "vault",
                vault.p(50) * 1e3,
                "plain",
                plain.p(50) * 1e3,
                "ms",
            )
        )
        if workload == "caseload":
            ratio = row.ratio
        for who, result in (("vault", vault), ("plain", plain)):
            if result.errors:
                section.notes.append(
                    f"{kind} {workload}: non-200 answers from {who}: {result.errors}"
                )
    section.notes.extend(measured.notes)
    section.targets.append(
        Target(
            f"random caseload reads at 32 connections vs plain random rows ({kind})",
            ">= 0.8x",
            f"{ratio:.2f}x",
            ratio >= 0.8,
        )
    )


def sizes(mode: Mode) -> tuple[int, int]:
    """(SQLite subjects, PostgreSQL subjects) of a run."""
    sqlite = int(os.environ.get("BENCH_CASELOAD_SUBJECTS", pick(mode, 300, 1_000, 10_000)))
    pg = int(os.environ.get("BENCH_CASELOAD_PG_SUBJECTS", pick(mode, 300, 1_000, 100_000)))
    return sqlite, pg


def _stores(mode: Mode) -> Iterator[tuple[str, str, Path, int]]:
    sqlite_n, pg_n = sizes(mode)
    kinds = [k for k in os.environ.get("BENCH_CASELOAD_STORES", "sqlite,postgresql").split(",")]
    if "sqlite" in kinds:
        with tempfile.TemporaryDirectory(prefix="vault-bench-caseload-") as tmp:
            yield "sqlite", f"sqlite:///{Path(tmp) / 'vault.db'}", Path(tmp), sqlite_n
    if "postgresql" in kinds and postgres_reachable():
        with ExitStack() as stack:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="vault-bench-caseload-"))
            url = stack.enter_context(postgres_url())
            yield "postgresql", url, Path(tmp), pg_n


def run(mode: Mode) -> Section:
    need("vault.records.http", "the records HTTP API")
    section = Section(name="caseload", title="Caseload read")
    load = os.getloadavg()
    section.notes.append(f"load average before: {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}")
    for kind, url, tmp, subjects in _stores(mode):
        rows(section, kind, _measure(kind, url, tmp, mode, subjects))
    return section


if __name__ == "__main__":
    main("caseload", run)
