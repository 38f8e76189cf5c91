"""Scale: the latency of reading one record with 1k vs 100k (vs 1M) records stored.

The read is the records service's path through the store: the subject row,
the record row, its five field rows, the subject's wrapped-key row (all through
the same ORM and Core queries ``RecordReader.plan`` and
``SubjectKeys.data_key`` use), then opening the five fields with the vault's
field layer under a data key already unwrapped (the key cache's steady state).
Policy and audit are left out: they do not depend on how much is stored, and
are measured on their own. The baseline is the same read with 1k records.
"""

from __future__ import annotations

import os
import random
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import Any

from bench.bulk import bulk_insert
from bench.common import Mode, Row, Section, main, need, percentile, pick, sample
from bench.stores import postgres_reachable, store

FIELDS = [f"field_{i}" for i in range(1, 6)]
RECORDS_PER_SUBJECT = 10
RECORD_TYPE = "bench_five_fields"


def _rows(
    start: int, stop: int, dek: Any, now: datetime, made: list[tuple[uuid.UUID, uuid.UUID]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    from vault.records.fieldcrypt import seal_fields

    stamps = {"created_at": now, "updated_at": now}
    subjects, keys, records, fields = [], [], [], []
    subject_id = uuid.uuid4()
    for n in range(start, stop):
        if n % RECORDS_PER_SUBJECT == 0:
            subject_id = uuid.uuid4()
            subjects.append(
                {
                    "id": subject_id,
                    **stamps,
                    "organization": f"lapas-{n % 7}",
                    "status": "in_custody",
                    "nik_index": os.urandom(32).hex(),
                    "register_index": os.urandom(32).hex(),
                    "identity_record_id": None,
                    "pin_hash": None,
                    "legal_hold": False,
                    "erased_at": None,
                }
            )
            keys.append(
                {
                    "id": uuid.uuid4(),
                    **stamps,
                    "subject_id": subject_id,
                    "kek_version": 1,
                    "wrapped_dek": os.urandom(40),
                }
            )
        record_id = uuid.uuid4()
        records.append(
            {
                "id": record_id,
                **stamps,
                "subject_id": subject_id,
                "record_type": RECORD_TYPE,
                "version": 1,
                "lineage_id": record_id,
                "supersedes_id": None,
                "superseded_at": None,
                "author_id": None,
                "author_org": "lapas-0",
            }
        )
        sealed = seal_fields(
            dek,
            subject_id=subject_id,
            record_id=record_id,
            record_type=RECORD_TYPE,
            version=1,
            values={name: f"{name} of record {n}: " + "x" * 80 for name in FIELDS},
        )
        for name, ciphertext in sealed.items():
            fields.append(
                {
                    "id": uuid.uuid4(),
                    **stamps,
                    "record_id": record_id,
                    "name": name,
                    "category": "program",
                    "ciphertext": ciphertext,
                }
            )
        made.append((subject_id, record_id))
    return subjects, keys, records, fields


def _grow(
    engine: Any, tables: dict[str, Any], start: int, stop: int, dek: Any, made: list[Any]
) -> None:
    now = datetime.now(UTC)
    step = 20_000
    for lo in range(start, stop, step):
        subjects, keys, records, fields = _rows(lo, min(stop, lo + step), dek, now, made)
        bulk_insert(engine, tables["subjects"], subjects)
        bulk_insert(engine, tables["subject_keys"], keys)
        bulk_insert(engine, tables["records"], records)
        bulk_insert(engine, tables["record_fields"], fields)


def _reader(db: Any, dek: Any) -> Any:
    from sqlalchemy import select
    from sqlmodel import col
    from sqlmodel import select as sm_select

    from vault.keys.models import SubjectKey
    from vault.records.fieldcrypt import open_record
    from vault.records.models import Record, RecordField
    from vault.subjects.models import Subject

    key_table = SubjectKey.__table__  # type: ignore[attr-defined]  # SQLModel sets it

    def read(subject_id: uuid.UUID, record_id: uuid.UUID) -> dict[str, str]:
        with db.read_session() as session:
            subject = session.get(Subject, subject_id)
            record = session.get(Record, record_id)
            if subject is None or record is None:
                raise RuntimeError("a generated row is missing")
            stored = {
                row.name: row.ciphertext
                for row in session.exec(
                    sm_select(RecordField).where(col(RecordField.record_id) == record_id)
                )
            }
            session.execute(
                select(key_table.c.kek_version, key_table.c.wrapped_dek).where(
                    key_table.c.subject_id == subject_id
                )
            ).first()
            opened: dict[str, str] = open_record(dek, subject_id, record, stored)
            return opened

    return read


def _measure(read: Any, made: list[Any], count: int, seconds: float) -> list[float]:
    rng = random.Random(7)

    def one() -> object:
        return read(*made[rng.randrange(len(made))])

    return sample(one, max_count=count, max_seconds=seconds, warmup=30)


def _backend(section: Section, kind: str, sizes: list[int], count: int, seconds: float) -> None:
    keys = need("vault.crypto.keys", "data keys (issue 3)")
    need("vault.records.fieldcrypt", "the records field layer (issue 7)")
    need("vault.keys.models", "the subject_keys table (issue 3)")
    from sqlmodel import SQLModel

    import vault.tables  # noqa: F401 - registers every table on the metadata
    from vault.db import Database

    names = ["subjects", "subject_keys", "records", "record_fields"]
    tables = {name: SQLModel.metadata.tables[name] for name in names}
    dek = keys.DataKey.generate()
    results: dict[int, list[float]] = {size: [] for size in sizes}
    with ExitStack() as stack:
        # One store per size, then measured in alternating rounds, so that warming
        # up and the machine's other load favour no size.
        readers = {}
        for size in sizes:
            db = Database(stack.enter_context(store(kind)))
            stack.callback(db.dispose)
            SQLModel.metadata.create_all(db.engine, tables=list(tables.values()))
            made: list[Any] = []
            _grow(db.engine, tables, 0, size, dek, made)
            if kind == "postgresql":
                with db.engine.connect() as conn:
                    conn.exec_driver_sql("ANALYZE")
            readers[size] = (_reader(db, dek), made)
        rounds = 5
        for _ in range(rounds):
            for size, (read, made) in readers.items():
                results[size] += _measure(read, made, count // rounds, seconds / rounds)
    base_size = sizes[0]
    base = results[base_size]
    for size in sizes[1:]:
        s = results[size]
        section.rows.append(
            Row(
                "scale",
                f"read 1 record (5 fields), {kind}",
                f"{size:,} records",
                percentile(s, 50) * 1e6,
                f"{base_size:,} records",
                percentile(base, 50) * 1e6,
                "µs",
                extra={
                    "p99_us": percentile(s, 99) * 1e6,
                    "baseline_p99_us": percentile(base, 99) * 1e6,
                    "samples": len(s),
                },
            )
        )
        section.notes.append(
            f"{kind}: p99 {percentile(s, 99) * 1e6:,.0f} µs at {size:,} records vs "
            f"{percentile(base, 99) * 1e6:,.0f} µs at {base_size:,}"
        )


def run(mode: Mode) -> Section:
    section = Section(name="scale", title="Scale")
    sizes = pick(mode, [1_000, 10_000], [1_000, 100_000], [1_000, 100_000, 1_000_000])
    count = pick(mode, 500, 3000, 10000)
    seconds = pick(mode, 2.0, 6.0, 15.0)
    kinds = ["sqlite"] + (["postgresql"] if postgres_reachable() else [])
    if "postgresql" not in kinds:
        section.notes.append("PostgreSQL not reachable: measured on SQLite only")
    for kind in kinds:
        _backend(section, kind, sizes, count, seconds)
    section.notes.append(
        f"{RECORDS_PER_SUBJECT} records a subject, 5 field rows a record; `--full` adds 1,000,000 "
        "records (5M field rows)"
    )
    return section


if __name__ == "__main__":
    main("scale", run)
