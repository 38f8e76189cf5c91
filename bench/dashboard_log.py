"""A vault whose audit log holds N events, as a compliance officer's dashboard meets it.

The people are made through the services (organisations, staff accounts,
subjects registered by an officer, care-team assignments), with the clock set a
year back, so their events come first in the chain. Then N events are written
in bulk after them, byte for byte what ``AuditLog`` writes (the canonical
encoding of ``vault.audit.canonical``, the link hash, the filter columns
through SQLAlchemy's own bind processors, the tree's every complete subtree in
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
import random
import sqlite3
import subprocess
import sys
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
CHUNK = 20_000
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
    """Every complete subtree of the leaves, emitted as leaves arrive (RFC 9162 hashes)."""

    def __init__(self) -> None:
        self.size = 0
        self.edge: dict[int, bytes] = {}
        self.rows: list[tuple[int, int, bytes]] = []

    def add(self, chain_hash: bytes) -> None:
        node = hashlib.sha256(b"\x00" + chain_hash).digest()
        level, index = 0, self.size
        self.rows.append((0, index, node))
        while index % 2 == 1:
            node = hashlib.sha256(b"\x01" + self.edge.pop(level) + node).digest()
            level, index = level + 1, index // 2
            self.rows.append((level, index, node))
        self.edge[level] = node
        self.size += 1


def _bulk(path: str, templates: list[Any], weights: list[int], count: int, end: datetime) -> None:
    """Append ``count`` events after the log's last one, and rewrite the tree's nodes."""
    from vault.audit import canonical
    from vault.audit.models import EVENTS

    stamp_of = EVENTS.c.time.type._cached_bind_processor(_sqlite_dialect())
    skeletons = _skeletons(templates)
    seq_bytes, time_bytes = b"918273645546372819", b"TIME-PLACEHOLDER"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA journal_mode=WAL")
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
    rng = random.Random(20261201)
    sql = (
        "INSERT INTO audit_events (id, created_at, updated_at, seq, time, action, outcome, "
        "actor_id, actor_org, subject_id, break_glass, prev_hash, canonical, hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    seq, done = last_seq, 0
    while done < count:
        rows = []
        for pick in rng.choices(range(len(skeletons)), weights, k=min(CHUNK, count - done)):
            seq, done = seq + 1, done + 1
            moment = start + step * done
            skeleton, columns = skeletons[pick]
            body = skeleton.replace(seq_bytes, str(seq).encode()).replace(
                time_bytes, canonical.format_time(moment).encode()
            )
            digest = hashlib.sha256(prev + body).digest()
            stored = stamp_of(moment)
            rows.append(
                (uuid.uuid4().hex, stored, stored, seq, stored, *columns, prev, body, digest)
            )
            tree.add(digest)
            prev = digest
        if done == len(rows):  # the first chunk: its bytes are exactly what encode() gives
            for row in rows[:50]:
                if canonical.encode(canonical.decode(row[12])) != row[12]:
                    raise RuntimeError("generated canonical bytes differ from encode()")
        db.executemany(sql, rows)
        db.executemany("INSERT INTO audit_nodes (level, idx, hash) VALUES (?, ?, ?)", tree.rows)
        tree.rows.clear()
    db.execute("COMMIT")
    db.close()


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
