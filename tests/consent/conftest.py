"""Fixtures of the consent tests: a migrated store, a subject, and fakes of other capabilities."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session

from vault.access.engine import PolicyEngine
from vault.audit.events import AuditEvent
from vault.audit.log import AuditLog
from vault.config import Settings
from vault.consent.service import ConsentService
from vault.crypto.columns import ColumnSealer
from vault.crypto.keys import DataKey
from vault.crypto.signing import Signer
from vault.db import Database
from vault.identity.models import Organization
from vault.subjects.models import Subject

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


class FakeAudit:
    """Keeps appended events in a list for the tests to read, and writes them to the
    store's real log too: decisions check consents against the events there."""

    def __init__(self, log: AuditLog) -> None:
        self.events: list[AuditEvent] = []
        self.log = log

    def append(self, event: AuditEvent) -> int:
        self.events.append(event)
        return self.log.append(event)

    def actions(self) -> list[str]:
        return [event.action for event in self.events]


class FakeHasher:
    """PIN 'hashes' as 'h:' + PIN: enough to test the flow, never used outside tests."""

    def hash(self, secret: str) -> str:
        return "h:" + secret

    def verify(self, stored_hash: str, secret: str) -> bool:
        return stored_hash == "h:" + secret

    def needs_rehash(self, stored_hash: str) -> bool:
        return False


class FakeFacts:
    """Dates of birth by subject id."""

    def __init__(self) -> None:
        self.births: dict[uuid.UUID, date] = {}

    def date_of_birth(self, session: Session, subject_id: uuid.UUID) -> date:
        from vault.errors import NotFound

        if subject_id not in self.births:
            raise NotFound("No date of birth.")
        return self.births[subject_id]


class FakeKeys:
    """One data key per subject, kept in memory; forgotten like a shredded one."""

    def __init__(self) -> None:
        self.keys: dict[uuid.UUID, DataKey] = {}

    def data_key(self, session: Session, subject_id: uuid.UUID) -> DataKey:
        return self.keys.setdefault(subject_id, DataKey.generate())


class FakePeople:
    """The two-person rule: two different ids are two people."""

    def distinct_people(self, first: uuid.UUID, second: uuid.UUID) -> bool:
        return first != second


# Kemensos organisations a handover may name.
SENTRAS = {"sentra-handayani": "Sentra Handayani", "sentra-ciungwanara": "Sentra Ciungwanara"}


def add_sentras(db: Database) -> None:
    with db.session() as session:
        for code, name in SENTRAS.items():
            session.add(Organization(code=code, name=name, agency="kemensos"))


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database(settings.database_url)
    database.migrate()
    add_sentras(database)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def signer() -> Signer:
    return Signer(secrets.token_bytes(32))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def audit(db: Database) -> Iterator[FakeAudit]:
    log = AuditLog(db.url)
    yield FakeAudit(log)
    log.close()


@pytest.fixture
def facts() -> FakeFacts:
    return FakeFacts()


@pytest.fixture
def consents(
    settings: Settings,
    db: Database,
    clock: Clock,
    audit: FakeAudit,
    facts: FakeFacts,
    signer: Signer,
) -> ConsentService:
    service = ConsentService(
        settings,
        db,
        clock,
        hasher=FakeHasher(),
        signer=signer,
        audit=audit,
        facts=facts,
        sealer=ColumnSealer(bytes(range(32))),
        policy=PolicyEngine.from_directory(settings.policies_dir),
    )
    service.keys = FakeKeys()
    service.people = FakePeople()
    return service


def add_subject(
    db: Database, organization: str = "rutan-jakpus", pin_hash: str | None = "h:2468"
) -> uuid.UUID:
    subject = Subject(
        organization=organization,
        nik_index=uuid.uuid4().hex,
        register_index=uuid.uuid4().hex,
        pin_hash=pin_hash,
    )
    with db.session() as session:
        session.add(subject)
    return subject.id
