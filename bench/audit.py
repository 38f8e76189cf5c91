"""Audit: verifying a long chain, and appending with group commit vs one commit per event.

The chain is generated in bulk in exactly the format ``AuditLog`` writes (the
same canonical encoding, link hash and columns), then verified by the vault's
``verify_chain``. The baseline is the least any verifier can do: stream the
same columns with the stdlib ``sqlite3`` and check each link with ``hashlib``.

Appends go through ``AuditLog`` itself on a durable store (SQLite WAL with
synchronous=FULL; PostgreSQL as configured): one thread appending one event at
a time is one commit per event (the baseline); many threads at once let the
writer group their events into one commit.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import Mode, Row, Section, Target, main, need, pick
from bench.stores import postgres_reachable, store

CHUNK = 20_000


def _generate_chain(engine: Any, count: int) -> float:
    """Insert ``count`` chained events as AuditLog would; return the seconds it took.

    Fast, but byte for byte the format ``AuditLog`` writes: the canonical bytes
    come from ``vault.audit.canonical.encode`` of one event document, with only
    ``seq`` and ``time`` substituted (checked against ``encode`` on the first
    rows); column values go through SQLAlchemy's own bind processors.
    """
    canonical = need("vault.audit.canonical", "the audit chain format (issue 5)")
    events = need("vault.audit.events", "audit events")
    from vault.audit.log import EVENTS

    started = time.perf_counter()
    actor, subject, record = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    template = events.AuditEvent(
        action="record.read",
        outcome=events.Outcome.ALLOW,
        actor_id=actor,
        actor_role="counselor",
        actor_org="lapas-cipinang",
        subject_id=subject,
        target_id=record,
        categories=("psychological",),
        purpose="rehabilitation",
        consent_id=uuid.uuid4(),
        policy_ids=("counselor-reads-psychological",),
        request_id="0123456789abcdef",
        client_addr="127.0.0.1",
    )
    base = datetime(2026, 1, 1, tzinfo=UTC)
    document = canonical.event_document(1, base, template)
    seq_mark, time_mark = 918273645546372819, "TIME-PLACEHOLDER"
    document.update(seq=seq_mark, time=time_mark)
    skeleton = canonical.encode(document)
    seq_bytes, time_bytes = str(seq_mark).encode(), time_mark.encode()
    if skeleton.count(seq_bytes) != 1 or skeleton.count(time_bytes) != 1:
        raise RuntimeError("the placeholders must each occur once in the canonical bytes")

    dialect = engine.dialect
    processors = {c.name: c.type._cached_bind_processor(dialect) for c in EVENTS.c}

    def bind(name: str, value: object) -> object:
        processor = processors[name]
        return processor(value) if processor is not None else value

    columns = [c.name for c in EVENTS.c]
    placeholders = ", ".join("?" for _ in columns)
    sql = f"INSERT INTO audit_events ({', '.join(columns)}) VALUES ({placeholders})"
    constant = {
        "created_at": bind("created_at", base),
        "updated_at": bind("updated_at", base),
        "action": template.action,
        "outcome": template.outcome.value,
        "actor_id": bind("actor_id", actor),
        "actor_org": template.actor_org,
        "subject_id": bind("subject_id", subject),
        "break_glass": bind("break_glass", False),
    }
    time_of = processors["time"]
    prev = canonical.GENESIS_HASH
    seq = 0
    with engine.begin() as conn:
        while seq < count:
            rows = []
            for _ in range(min(CHUNK, count - seq)):
                seq += 1
                moment = base + timedelta(milliseconds=seq)
                stamp = canonical.format_time(moment)
                body = skeleton.replace(seq_bytes, str(seq).encode()).replace(
                    time_bytes, stamp.encode()
                )
                if seq <= 3:  # the substitution is exactly what encode() gives
                    document.update(seq=seq, time=stamp)
                    if body != canonical.encode(document):
                        raise RuntimeError("generated canonical bytes differ from encode()")
                digest = canonical.link_hash(prev, body)
                values = {
                    **constant,
                    "id": uuid.uuid4().hex,  # what the Uuid type stores on SQLite
                    "seq": seq,
                    "time": time_of(moment) if time_of else moment,
                    "prev_hash": prev,
                    "canonical": body,
                    "hash": digest,
                }
                rows.append(tuple(values[c] for c in columns))
                prev = digest
            conn.exec_driver_sql(sql, rows)
    return time.perf_counter() - started


def _raw_verify(path: str) -> int:
    """The floor: stdlib sqlite3, one pass, hashlib only."""
    conn = sqlite3.connect(path)
    try:
        expected, prev = 1, bytes(32)
        sha = hashlib.sha256
        for seq, prev_hash, body, digest in conn.execute(
            "SELECT seq, prev_hash, canonical, hash FROM audit_events ORDER BY seq"
        ):
            computed = sha(prev + body).digest()
            if seq != expected or prev_hash != prev or digest != computed:
                raise RuntimeError(f"chain broken at {seq}")
            prev = computed
            expected += 1
        return expected - 1
    finally:
        conn.close()


def _verify(section: Section, mode: Mode) -> None:
    verify = need("vault.audit.verify", "audit verification (issue 5, vault/audit/verify.py)")
    from vault.audit.models import AuditCheckpointRow, AuditRow
    from vault.db import make_engine

    count = pick(mode, 100_000, 1_000_000, 1_000_000)
    with store("sqlite") as url:
        engine = make_engine(url)
        for table in (AuditRow.__table__, AuditCheckpointRow.__table__):  # type: ignore[attr-defined]  # SQLModel sets it
            table.create(engine)
        generated = _generate_chain(engine, count)
        path = url.removeprefix("sqlite:///")
        rounds = pick(mode, 1, 1, 3)
        vault_times, chain_times, raw_times = [], [], []
        for _ in range(rounds):  # alternate, so the page cache favours neither
            started = time.perf_counter()
            report = verify.verify_chain(engine)
            vault_times.append(time.perf_counter() - started)
            if not report.ok or report.events != count:
                raise RuntimeError(f"the generated chain did not verify: {report.problem}")
            started = time.perf_counter()
            verify.verify_chain(engine, check_index=False)
            chain_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            _raw_verify(path)
            raw_times.append(time.perf_counter() - started)
        engine.dispose()
    vault_s = sorted(vault_times)[len(vault_times) // 2]
    chain_s = sorted(chain_times)[len(chain_times) // 2]
    raw_s = sorted(raw_times)[len(raw_times) // 2]
    section.rows.append(
        Row(
            "audit",
            f"verify {count:,} events (SQLite), chain and checkpoints only",
            "vault verify_chain(check_index=False)",
            chain_s,
            "stdlib sqlite3 + hashlib",
            raw_s,
            "s",
            extra={"events_per_s": count / chain_s, "generate_s": generated},
        )
    )
    section.rows.append(
        Row(
            "audit",
            f"verify {count:,} events (SQLite), as `vault audit verify` does",
            "chain + filter columns vs content",
            vault_s,
            "stdlib sqlite3 + hashlib",
            raw_s,
            "s",
            extra={"events_per_s": count / vault_s},
        )
    )
    per_million = chain_s * 1_000_000 / count
    section.targets.append(
        Target(
            "verify 1,000,000 events (the hash chain and checkpoints)",
            "< 5 s",
            f"{per_million:.2f} s" + ("" if count == 1_000_000 else f" (scaled from {count:,})"),
            per_million < 5,
        )
    )
    section.notes.append(
        "the full check also compares every event's filter columns (subject, actor, action, "
        "outcome, time, break-glass) with its hashed content, in one SQL query on a second "
        f"connection while the chain is walked: {vault_s * 1_000_000 / count:.2f} s per million"
    )
    section.notes.append(
        f"the {count:,}-event chain was written in bulk in AuditLog's format in {generated:.1f} s"
    )


def _append_rate(url: str, threads: int, per_thread: int, max_seconds: float) -> dict[str, float]:
    log_module = need("vault.audit.log", "the audit log (issue 5, vault/audit/log.py)")
    events = need("vault.audit.events", "audit events")
    from vault.audit.models import AuditCheckpointRow, AuditHaltRow, AuditNodeRow, AuditRow
    from vault.db import make_engine

    engine = make_engine(url)
    rows = (AuditRow, AuditCheckpointRow, AuditNodeRow, AuditHaltRow)
    for table in (row.__table__ for row in rows):  # type: ignore[attr-defined]  # SQLModel sets it
        table.create(engine, checkfirst=True)
    engine.dispose()
    audit = log_module.AuditLog(url)
    event = events.AuditEvent(
        action="record.read",
        outcome=events.Outcome.ALLOW,
        actor_id=uuid.uuid4(),
        actor_role="counselor",
        actor_org="lapas-cipinang",
        subject_id=uuid.uuid4(),
        categories=("psychological",),
        purpose="rehabilitation",
    )
    audit.append(event)  # start the writer and open its connection before timing
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + max_seconds

    def worker() -> None:
        mine = []
        for _ in range(per_thread):
            if time.perf_counter() > deadline:
                break
            started = time.perf_counter()
            audit.append(event)
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - started
    audit.close()
    latencies.sort()
    return {
        "rate": len(latencies) / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1e3,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1e3,
        "events": float(len(latencies)),
    }


def _without_tree(measure: Any) -> dict[str, float]:
    """``measure()`` with the transparency tree's writes switched off (today's group commit)."""
    from vault.audit.tree import TreeWriter

    original = TreeWriter.append
    TreeWriter.append = lambda self, cursor, size, hashes: None  # type: ignore[method-assign]  # the baseline skips the tree
    try:
        result: dict[str, float] = measure()
    finally:
        TreeWriter.append = original  # type: ignore[method-assign]  # restored
    return result


def _append(section: Section, mode: Mode) -> None:
    kinds = ["sqlite"] + (["postgresql"] if postgres_reachable() else [])
    if "postgresql" not in kinds:
        section.notes.append("PostgreSQL not reachable: append measured on SQLite only")
    single_n = pick(mode, 300, 1500, 5000)
    threads = 32
    per_thread = pick(mode, 30, 150, 500)
    budget = pick(mode, 5.0, 15.0, 60.0)
    for kind in kinds:
        with store(kind) as url:
            one = _append_rate(url, 1, single_n, budget)
            group = _append_rate(url, threads, per_thread, budget)
        section.rows.append(
            Row(
                "audit",
                f"append, {kind}",
                f"group commit, {threads} threads",
                group["rate"],
                "one commit per event (1 thread)",
                one["rate"],
                "events/s",
                extra={
                    "group_p50_ms": group["p50_ms"],
                    "group_p99_ms": group["p99_ms"],
                    "single_p50_ms": one["p50_ms"],
                    "single_p99_ms": one["p99_ms"],
                },
            )
        )
        with store(kind) as url:
            treeless = _without_tree(lambda url=url: _append_rate(url, threads, per_thread, budget))
        with store(kind) as url:
            treed = _append_rate(url, threads, per_thread, budget)
        section.rows.append(
            Row(
                "audit",
                f"append with the Merkle tree, {kind}",
                f"group commit + tree, {threads} threads",
                treed["rate"],
                "group commit without the tree",
                treeless["rate"],
                "events/s",
            )
        )
        section.notes.append(
            f"append on {kind}: one-by-one p50 {one['p50_ms']:.2f} ms; "
            f"{threads} threads p50 {group['p50_ms']:.2f} ms, p99 {group['p99_ms']:.2f} ms"
        )


def run(mode: Mode) -> Section:
    section = Section(name="audit", title="Audit")
    _verify(section, mode)
    _append(section, mode)
    return section


if __name__ == "__main__":
    main("audit", run)
