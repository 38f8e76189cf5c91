"""A vault whose audit log holds N events, as a compliance officer's dashboard meets it.

The people are made through the services (organisations, staff accounts,
subjects registered by an officer, care-team assignments), with the clock set a
year back, so their events come first in the chain. Then N events are written
in bulk after them, byte for byte what ``AuditLog`` writes (the canonical
encoding of ``vault.audit.canonical``, the link hash, the filter columns
through SQLAlchemy's own bind processors, the tree's every complete inner subtree in
``audit_nodes``), spread evenly over the year up to a few minutes ago:

- record reads by the organisation's counselors and health officers of its
  subjects (a few refused), under four purposes;
- reads by other organisations' staff, of its subjects (under a consent) and
  of their own;
- break-glass grants opened, logins.

The vault is then opened again on the real clock; it signs a head over the
whole log, and ``vault audit verify --full`` runs on it as a separate process.
"""

from __future__ import annotations

import hashlib
import os
import queue
import random
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import REPO, settings_from_env

ORG = "rutan-jakpus"
OTHERS = ("lapas-cipinang", "lapas-salemba", "sentra-handayani")
PASSWORD = "correct horse battery staple"  # noqa: S105  (the bench accounts' password)
OFFICER = "bench-compliance"
PURPOSES = ("counseling", "health_treatment", "social_reintegration", "legal_aid")
DAYS = 365
CHUNK = 50_000
# The build's page cache: the random ids' index of 10M events (~0.5 GB) stays in memory.
CACHE_KIB = 2_000_000
UUID4_MASK = ~(0xF000 << 64 | 0xC000 << 48) & (2**128 - 1)
UUID4_BITS = 0x4000 << 64 | 0x8000 << 48
INSERT_EVENT = (
    "INSERT INTO audit_events (id, created_at, updated_at, seq, time, action, outcome, "
    "actor_id, actor_org, subject_id, break_glass, prev_hash, canonical, hash) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
VERIFY = "import sys; from vault.cli import main; sys.exit(main())"


@dataclass
class Built:
    """The vault made: its settings' environment and how long each part took."""

    env: dict[str, str]
    events: int
    seconds: dict[str, float] = field(default_factory=dict)
    verify_output: str = ""


def environment(folder: Path) -> dict[str, str]:
    return {
        "VAULT_DATABASE_URL": f"sqlite:///{folder / 'vault.db'}",
        "VAULT_KEYS_DIR": str(folder / "keys"),
        # Only the password hashing gets cheap (logins are not what is measured).
        "VAULT_TESTING": "1",
        "VAULT_ARGON2_PROFILE": "cheapest",
        "VAULT_ALLOWED_HOSTS": '["127.0.0.1", "testserver"]',
    }


@dataclass
class People:
    staff: dict[str, list[Any]]  # organisation -> principals of its readers
    health: list[Any]
    subjects: dict[str, list[uuid.UUID]]


def _people(services: Any) -> People:
    from vault.subjects.registration import NewSubject
    from vault.vocabulary import Principal, Role

    def user(name: str, role: Role, org: str) -> Any:
        made = services.identity.create_user(name, PASSWORD, role.value, org)
        return Principal(made.id, role, org)

    staff: dict[str, list[Any]] = {}
    subjects: dict[str, list[uuid.UUID]] = {}
    health: list[Any] = []
    for org in (ORG, *OTHERS):
        agency = "kemensos" if org.startswith("sentra") else "imipas"
        services.identity.create_organization(org, org.replace("-", " ").title(), agency)
        officer = user(f"bench-officer-{org}", Role.OFFICER, org)
        count = 20 if org == ORG else 6
        staff[org] = [user(f"bench-counselor-{org}-{i}", Role.COUNSELOR, org) for i in range(count)]
        subjects[org] = []
        for n in range(30 if org == ORG else 10):
            digits = f"31{len(staff) * 100 + n:014d}"
            subject = services.subjects.register(
                officer,
                NewSubject(
                    full_name=f"Bench Subject {n}",
                    nik=digits,
                    register_number=f"B.I-{n}/2026",
                    date_of_birth=date(1980 + n % 20, 1 + n % 12, 1 + n % 28),
                    organization=org,
                ),
            )
            subjects[org].append(subject)
            for reader in staff[org][n % len(staff[org]) :][:2]:
                services.access.assign(officer, reader.id, subject)
    health = [user(f"bench-health-{i}", Role.HEALTH_OFFICER, ORG) for i in range(5)]
    user(OFFICER, Role.COMPLIANCE_OFFICER, ORG)
    return People(staff, health, subjects)


def _templates(people: People, rng: random.Random) -> tuple[list[Any], list[int]]:
    """The kinds of event written in bulk, and their weights."""
    from vault.audit.events import AuditEvent, Outcome
    from vault.vocabulary import EventAction

    events: list[Any] = []
    weights: list[int] = []

    def read(reader: Any, subject: uuid.UUID, outcome: Outcome, weight: int) -> None:
        events.append(
            AuditEvent.by(
                reader,
                EventAction.RECORD_READ,
                outcome,
                subject_id=subject,
                target_id=uuid.uuid4(),
                categories=("psychological",),
                purpose=rng.choice(PURPOSES),
                consent_id=uuid.uuid4() if outcome is Outcome.ALLOW else None,
                policy_ids=("care-team-reads",),
                request_id=uuid.uuid4().hex[:16],
                client_addr="10.0.0.7",
            )
        )
        weights.append(weight)

    ours = people.subjects[ORG]
    for reader in people.staff[ORG]:
        for subject in rng.sample(ours, 6):
            read(reader, subject, Outcome.ALLOW, 40)
        read(reader, rng.choice(ours), Outcome.DENY, 3)
    for org in OTHERS:
        for reader in people.staff[org]:
            read(reader, rng.choice(ours), Outcome.ALLOW, 5)
            for subject in rng.sample(people.subjects[org], 4):
                read(reader, subject, Outcome.ALLOW, 40)
    for officer in people.health:
        events.append(
            AuditEvent.by(
                officer,
                EventAction.BREAK_GLASS_OPEN,
                Outcome.ALLOW,
                subject_id=rng.choice(ours),
                reason="emergency in the block",
            )
        )
        weights.append(1)
        read(officer, rng.choice(ours), Outcome.ALLOW, 10)
    for org, readers in people.staff.items():
        for reader in readers[:3]:
            events.append(AuditEvent.by(reader, EventAction.AUTH_LOGIN, Outcome.INFO))
            weights.append(20 if org == ORG else 10)
    return events, weights


def _skeletons(templates: list[Any]) -> list[tuple[bytes, tuple[Any, ...]]]:
    """Each template's canonical bytes with placeholders for seq and time, and its columns."""
    from vault.audit import canonical

    seq_mark, time_mark = 918273645546372819, "TIME-PLACEHOLDER"
    found = []
    for event in templates:
        document = canonical.event_document(1, datetime(2026, 1, 1, tzinfo=UTC), event)
        document.update(seq=seq_mark, time=time_mark)
        skeleton = canonical.encode(document)
        if skeleton.count(str(seq_mark).encode()) != 1 or skeleton.count(time_mark.encode()) != 1:
            raise RuntimeError("each placeholder must occur once in the canonical bytes")
        columns = (
            event.action,
            event.outcome.value,
            event.actor_id.hex if event.actor_id else None,
            event.actor_org,
            event.subject_id.hex if event.subject_id else None,
            1 if event.break_glass else 0,
        )
        found.append((skeleton, columns))
    return found


class _Tree:
    """Every complete subtree above the leaves, emitted as leaves arrive (RFC 9162 hashes);
    the vault reads leaves from the events, so they are not rows."""

    def __init__(self) -> None:
        self.size = 0
        self.edge: list[bytes] = []  # the right edge's roots, of decreasing height
        self.rows: list[tuple[int, int, bytes]] = []

    def add(self, chain_hash: bytes) -> None:
        sha, rows, edge = hashlib.sha256, self.rows, self.edge
        node = sha(b"\x00" + chain_hash).digest()
        index = self.size
        level = 0
        while index & 1:
            node = sha(b"\x01" + edge.pop() + node).digest()
            level, index = level + 1, index >> 1
            rows.append((level, index, node))
        edge.append(node)
        self.size += 1


def _stamps(start: datetime, step: timedelta, first: int, count: int) -> list[tuple[str, str]]:
    """The canonical and the stored time text of events ``first .. first + count - 1``."""
    base = start.replace(tzinfo=None)
    step_us = step // timedelta(microseconds=1)
    found = []
    for n in range(first, first + count):
        text = (base + timedelta(microseconds=step_us * n)).isoformat(timespec="microseconds")
        found.append((text + "Z", text[:10] + " " + text[11:]))
    return found


def _writer(db: sqlite3.Connection, batches: queue.Queue[Any], failed: list[BaseException]) -> None:
    """Insert each batch of (events, nodes) as it comes (sqlite3 lets go of the GIL meanwhile)."""
    try:
        while (batch := batches.get()) is not None:
            rows, nodes = batch
            db.executemany(INSERT_EVENT, rows)
            db.executemany("INSERT INTO audit_nodes (level, idx, hash) VALUES (?, ?, ?)", nodes)
    except BaseException as error:  # noqa: BLE001  (handed to the generating thread)
        failed.append(error)
        while batches.get() is not None:
            pass


def _bulk(path: str, templates: list[Any], weights: list[int], count: int, end: datetime) -> None:
    """Append ``count`` events after the log's last one, and rewrite the tree's nodes.

    One transaction with no journal and a large page cache (the indexes' pages stay in
    memory); the events are made in this thread and inserted by another, so the hashing
    and the inserts share the two cores.
    """
    from vault.audit.models import EVENTS

    stamp_of = EVENTS.c.time.type._cached_bind_processor(_sqlite_dialect())
    skeletons = _skeletons(templates)
    seq_bytes, time_bytes = b"918273645546372819", b"TIME-PLACEHOLDER"
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=DELETE")
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    db.execute("PRAGMA temp_store=MEMORY")
    tree = _Tree()
    db.execute("BEGIN")
    for (chain_hash,) in db.execute("SELECT hash FROM audit_events ORDER BY seq"):
        tree.add(bytes(chain_hash))
    last_seq, prev, last_time = db.execute(
        "SELECT seq, hash, time FROM audit_events ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    prev = bytes(prev)
    start = datetime.fromisoformat(str(last_time)).replace(tzinfo=UTC)
    step = (end - start) / (count + 1)
    db.execute("DELETE FROM audit_nodes")
    # The filter columns' indexes are made again after the rows (sorted once, not
    # grown row by row); the same definitions, read back from the schema.
    indexes = [
        (name, sql)
        for name, sql in db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
            "AND tbl_name = 'audit_events' AND sql IS NOT NULL"
        )
    ]
    for name, _ in indexes:
        db.execute(f'DROP INDEX "{name}"')
    rng = random.Random(20261201)
    sha, getrandbits = hashlib.sha256, rng.getrandbits
    batches: queue.Queue[Any] = queue.Queue(maxsize=2)
    failed: list[BaseException] = []
    writer = threading.Thread(target=_writer, args=(db, batches, failed))
    writer.start()
    try:
        seq, done = last_seq, 0
        while done < count and not failed:
            size = min(CHUNK, count - done)
            picks = rng.choices(skeletons, weights, k=size)
            rows = []
            for (skeleton, columns), (moment, stored) in zip(
                picks, _stamps(start, step, done + 1, size), strict=True
            ):
                seq += 1
                body = skeleton.replace(seq_bytes, str(seq).encode()).replace(
                    time_bytes, moment.encode()
                )
                digest = sha(prev + body).digest()
                row_id = f"{getrandbits(128) & UUID4_MASK | UUID4_BITS:032x}"
                rows.append((row_id, stored, stored, seq, stored, *columns, prev, body, digest))
                tree.add(digest)
                prev = digest
            if done == 0:  # the first chunk: its bytes are exactly what AuditLog writes
                _check(rows[:50], start, step, stamp_of)
            done += size
            batches.put((rows, tree.rows))
            tree.rows = []
    finally:
        batches.put(None)
        writer.join()
    if failed:
        raise failed[0]
    for _, sql in indexes:
        db.execute(sql)
    db.execute("COMMIT")
    db.execute("PRAGMA journal_mode=WAL")
    db.close()


def _check(rows: list[tuple[Any, ...]], start: datetime, step: timedelta, stamp_of: Any) -> None:
    """The generated rows' canonical bytes, times and ids are what ``AuditLog`` would store."""
    from vault.audit import canonical

    for n, row in enumerate(rows, start=1):
        moment = start + step * n
        if canonical.encode(canonical.decode(row[12])) != row[12]:
            raise RuntimeError("generated canonical bytes differ from encode()")
        if canonical.decode(row[12])["time"] != canonical.format_time(moment):
            raise RuntimeError("generated canonical time differs from format_time()")
        if row[1] != stamp_of(moment) or uuid.UUID(row[0]).version != 4:
            raise RuntimeError("generated stored time or id differs from the ORM's")


def _sqlite_dialect() -> Any:
    from sqlalchemy.dialects import sqlite

    return sqlite.dialect()


def build(folder: Path, count: int) -> Built:
    """A vault in ``folder`` with the people above and ``count`` bulk events; verified."""
    from vault.services import build_services

    env = environment(folder)
    settings = settings_from_env(env)
    built = Built(env=env, events=count)
    now = datetime.now(UTC).replace(microsecond=0)
    year_ago = now - timedelta(days=DAYS)
    started = time.perf_counter()
    services = build_services(settings, clock=lambda: year_ago, migrate=True)
    try:
        people = _people(services)
    finally:
        services.close()
    built.seconds["people"] = time.perf_counter() - started
    templates, weights = _templates(people, random.Random(7))
    started = time.perf_counter()
    path = env["VAULT_DATABASE_URL"].removeprefix("sqlite:///")
    _bulk(path, templates, weights, count, now - timedelta(minutes=5))
    built.seconds["bulk"] = time.perf_counter() - started
    services = build_services(settings, migrate=False)
    try:
        services.audit.checkpoint_now()  # a signed head over the whole log
    finally:
        services.close()
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", VERIFY, "audit", "verify", "--full", "--quiet"],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    built.seconds["verify"] = time.perf_counter() - started
    built.verify_output = (proc.stdout + proc.stderr).strip()
    if proc.returncode != 0:
        raise RuntimeError(f"vault audit verify --full failed: {built.verify_output}")
    return built
