"""The caseload read over HTTP on the national store: ``vault serve`` at 300,000 subjects.

``bench/caseload.py`` builds its caseloads through the services, 50-150 ms a
subject: 100,000 subjects would take hours. The national store
(``bench/national_gen.py``) holds the same rows, written by the same services
for one subject and copied with COPY, each copy with its own counselor (300
subjects a counselor). So the caseload load runs on it: several counselors
log in over HTTP and read random records of the subjects on their own care
teams, 32 connections, against a plain table of as many rows
(``caseload.serve_and_load``: the same rounds, the count of ``record.read``
events against the reads answered, and ``vault audit verify`` after).
``BENCH_NATIONAL_READERS`` sets how many counselors read at once (default 32,
one a connection; the mode's quick run, 4). In the same rounds all connections
also read one counselor's caseload alone, to show how much it matters how
many read at once.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from bench.caseload import Caseloads, rows, serve_and_load
from bench.common import Mode, Section, pick

READABLE = (
    "SELECT u.username, a.subject_id, r.id FROM users u "
    "JOIN assignments a ON a.user_id = u.id AND a.ended_at IS NULL "
    "JOIN records r ON r.subject_id = a.subject_id AND r.record_type <> 'identity' "
    "WHERE u.username = ANY(%(names)s)"
)


def caseloads(url: str, counselors: int, readers: int) -> Caseloads:
    """``readers`` counselors spread over all of them, each with its caseload's records."""
    from sqlalchemy import create_engine

    step = max(1, counselors // readers)
    names = [f"bench-counselor-{i}" for i in range(0, counselors, step)][:readers]
    made = Caseloads(readable={name: [] for name in names})
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            for name, subject_id, record_id in conn.exec_driver_sql(READABLE, {"names": names}):
                made.readable[name].append((uuid.UUID(str(subject_id)), uuid.UUID(str(record_id))))
            made.subjects = int(conn.exec_driver_sql("SELECT count(*) FROM subjects").scalar_one())
            made.records = int(conn.exec_driver_sql("SELECT count(*) FROM records").scalar_one())
    finally:
        engine.dispose()
    return made


def measure(section: Section, env: dict[str, str], mode: Mode) -> None:
    """Serve the national store and load it as ``bench.caseload`` loads its own."""
    url = env["VAULT_DATABASE_URL"]
    # A counselor a connection: 9,600 subjects' keys, more than the key cache holds.
    readers = int(os.environ.get("BENCH_NATIONAL_READERS", pick(mode, 4, 32, 32)))
    counselors = 0
    from sqlalchemy import create_engine

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            counselors = int(
                conn.exec_driver_sql(
                    "SELECT count(*) FROM users WHERE username LIKE 'bench-counselor-%%'"
                ).scalar_one()
            )
    finally:
        engine.dispose()
    made = caseloads(url, counselors, readers)
    held = ", ".join(f"{len(pairs):,}" for pairs in made.readable.values())
    note = (
        f"national over HTTP: {made.subjects:,} subjects, {made.records:,} records; "
        f"{len(made.readable)} of {counselors:,} counselors read, records on their care teams: "
        f"{held}"
    )
    kind = "postgresql, national store"
    measured = serve_and_load(
        kind, url, Path(env["VAULT_KEYS_DIR"]).parent, mode, made, [note], one_counselor=True
    )
    rows(section, kind, measured)
