"""Loading the national store: copies rendered on a process pool, streamed in with COPY.

The bulk tables lose their constraints and indexes for the load (as a restore
of a dump does) and get them back, exactly as the migration made them, before
anything is measured. The audit chain is linked in this process, in order;
everything else (sealing fields, wrapping keys) is rendered by the pool.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from bench.national_gen import (
    BULK_TABLES,
    Compiled,
    NodeSink,
    chain,
    render,
    start_worker,
)

SPAN = 200  # copies a pool task renders


@dataclass
class Loaded:
    subjects: int = 0
    events: int = 0
    seconds: float = 0.0
    restore_seconds: float = 0.0
    # A sample of subjects: (subject, counselor, its records), and their data keys.
    sample: list[tuple[uuid.UUID, uuid.UUID, list[uuid.UUID]]] = field(default_factory=list)
    deks: dict[uuid.UUID, bytes] = field(default_factory=dict)


def _schema_objects(conn: Any) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """The bulk tables' constraints (table, name, definition) and other indexes (name, def)."""
    tables = tuple(BULK_TABLES)
    constraints = [
        (str(t), str(n), str(d))
        for t, n, d in conn.exec_driver_sql(
            "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) "
            "FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid "
            "WHERE r.relnamespace = current_schema()::regnamespace "
            "AND (r.relname = ANY(%(t)s) OR c.confrelid IN "
            "  (SELECT oid FROM pg_class WHERE relname = ANY(%(t)s) "
            "   AND relnamespace = current_schema()::regnamespace)) "
            "AND c.contype IN ('p', 'u', 'f') ORDER BY c.contype = 'f' DESC",
            {"t": list(tables)},
        )
    ]
    owned = {name for _, name, _ in constraints}
    indexes = [
        (str(n), str(d))
        for n, d in conn.exec_driver_sql(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = ANY(%(t)s)",
            {"t": list(tables)},
        )
        if n not in owned
    ]
    return constraints, indexes


def strip(engine: Engine) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """Drop the bulk tables' constraints and indexes; return them for :func:`restore`."""
    with engine.begin() as conn:
        constraints, indexes = _schema_objects(conn)
        for table, name, _ in constraints:  # foreign keys first (ordered by contype desc)
            conn.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
    return constraints, indexes


def restore(
    engine: Engine, saved: tuple[list[tuple[str, str, str]], list[tuple[str, str]]]
) -> None:
    constraints, indexes = saved
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("SET maintenance_work_mem = '512MB'")
        for table, name, definition in reversed(constraints):  # keys first, then references
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            raw.commit()
        for _, definition in indexes:
            cursor.execute(definition)
            raw.commit()
        raw.commit()
    finally:
        raw.close()


def _spans(start: int, stop: int, sample_every: int) -> Iterator[tuple[int, int, int]]:
    for lo in range(start, stop, SPAN):
        yield lo, min(stop, lo + SPAN), sample_every


def load(
    engine: Engine,
    compiled: Compiled,
    keys_dir: str,
    subjects: int,
    *,
    caseload: int,
    spacing: float,
    processes: int,
    sample_every: int,
    budget: float = float("inf"),
    progress: Callable[[int], None] | None = None,
) -> Loaded:
    """Write copies 1..subjects-1 of the template (subject 0) and restore the schema."""
    from vault.transparency import TreeAppender

    out = Loaded()
    started = time.perf_counter()
    saved = strip(engine)
    sink = NodeSink(compiled.nodes)
    appender = TreeAppender(sink, compiled.head[0])
    head = compiled.head
    streams: dict[str, tuple[Any, Any, Any]] = {}
    try:
        for table in BULK_TABLES:
            raw = engine.raw_connection()
            streams[table] = (raw, None, None)
            cursor = raw.driver_connection.cursor()
            cursor.execute("SET synchronous_commit = off")
            manager = cursor.copy(f"COPY {table} FROM STDIN")
            streams[table] = (raw, manager, manager.__enter__())
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(
            processes,
            initializer=start_worker,
            initargs=(compiled, keys_dir, caseload, spacing, subjects),
        ) as pool:
            for rendered in pool.imap(render, _spans(1, subjects, sample_every)):
                for table, lines in rendered.tables.items():
                    streams[table][2].write("".join(lines))
                lines, head = chain(rendered, head, appender, sink)
                streams["audit_events"][2].write("".join(lines))
                streams["audit_nodes"][2].write("".join(sink.lines))
                sink.lines.clear()
                out.events += len(lines)
                out.subjects += rendered.count
                out.sample += rendered.subjects
                out.deks.update(rendered.deks)
                if progress is not None:
                    progress(out.subjects)
                if time.perf_counter() - started > budget:
                    pool.terminate()
                    break
        for raw, manager, _ in streams.values():
            manager.__exit__(None, None, None)
            raw.commit()
    except BaseException as exc:
        for _, manager, _ in streams.values():
            if manager is not None:
                # COPY fails (not hangs); the first error is the one to report.
                with contextlib.suppress(Exception):
                    manager.__exit__(type(exc), exc, exc.__traceback__)
        raise
    finally:
        for raw, _, _ in streams.values():
            raw.close()
    out.seconds = time.perf_counter() - started
    started = time.perf_counter()
    restore(engine, saved)
    # Committed: statistics an uncommitted ANALYZE wrote are rolled back with it, and
    # without them the planner takes 0.5% of a table for every equality (147,637 field
    # rows a record at 29.5M) and plans the read as a parallel scan compiled by JIT.
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    out.restore_seconds = time.perf_counter() - started
    return out
