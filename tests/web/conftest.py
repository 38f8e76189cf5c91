"""Fixtures of the web tests: the real services over a migrated store, staff users,
subjects with PINs, and a Litestar TestClient on the loopback address."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest
from litestar.testing import TestClient

from tests.kept_stores import keep, restore
from tests.support import create_user, ensure_organization
from vault.app import create_app
from vault.config import Settings
from vault.services import Services, build_services
from vault.subjects.registration import NewSubject
from vault.vocabulary import Principal, Role

ORG = "rutan-jakpus"
OTHER_ORG = "lapas-cipinang"
SENTRA = "sentra-handayani"
PIN = "482913"
PASSWORD = "correct horse battery staple"


class Clock:
    """A clock the test moves by hand (starts now, so the chart's last 14 days hold it)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@dataclass
class World:
    services: Services
    clock: Clock
    officers: dict[str, uuid.UUID] = field(default_factory=dict)

    def subject(
        self,
        *,
        born: date = date(1990, 5, 17),
        organization: str = ORG,
        pin: str | None = PIN,
    ) -> uuid.UUID:
        """A subject registered by an officer of ``organization``; their kiosk PIN is ``pin``
        (given on the host, as the demo does; None: the subject has not chosen one yet)."""
        officer = Principal(self.officers[organization], Role.OFFICER, organization)
        digits = f"{secrets.randbelow(10**16):016d}"
        subject_id = self.services.subjects.register(
            officer,
            NewSubject(
                full_name="Budi Santoso",
                nik=digits,
                register_number=f"REG-{digits[:8]}",
                date_of_birth=born,
                organization=organization,
            ),
        )
        if pin is not None:
            self.services.consents.choose_pin(
                subject_id, pin, pin, witness=None, kiosk_session=None
            )
        return subject_id

    def record_read(self, username: str, subject: uuid.UUID, purpose: str = "counseling") -> None:
        """An allowed read of a psychological record of ``subject`` by ``username``, logged
        as the read path logs one (what the accounting of disclosures lists)."""
        from sqlalchemy import select

        from vault.audit.events import AuditEvent, Outcome
        from vault.identity.models import User
        from vault.vocabulary import EventAction

        with self.services.db.read_session() as session:
            user = session.execute(select(User).where(User.username == username)).scalar_one()
            reader = Principal(user.id, Role(user.role), user.organization)
        self.services.audit.append(
            AuditEvent.by(
                reader,
                EventAction.RECORD_READ,
                Outcome.ALLOW,
                subject_id=subject,
                target_id=uuid.uuid4(),
                categories=("psychological",),
                purpose=purpose,
                consent_id=uuid.uuid4(),
            )
        )

    def minor(self) -> uuid.UUID:
        today = self.clock().date()
        return self.subject(born=today.replace(year=today.year - 15))


@pytest.fixture
def world(settings: Settings) -> Iterator[World]:
    with build_world(settings) as built:
        yield built


@contextmanager
def build_world(settings: Settings) -> Iterator[World]:
    """Services over a migrated store, two organisations, and staff of every kiosk role."""
    clock = Clock()
    kept = restore("web world", settings)
    services = build_services(settings, clock=clock, migrate=kept is None)
    if kept is not None:
        officers: dict[str, uuid.UUID] = kept["officers"]
    else:
        ensure_organization(services, ORG)
        ensure_organization(services, OTHER_ORG)
        ensure_organization(services, SENTRA)  # a Kemensos sentra a handover may name
        officers = {
            ORG: create_user(services, "officer1", "officer", ORG, PASSWORD),
            OTHER_ORG: create_user(services, "officer2", "officer", OTHER_ORG, PASSWORD),
        }
        create_user(services, "counselor1", "counselor", ORG, PASSWORD)
        create_user(services, "compliance1", "compliance_officer", ORG, PASSWORD)
        create_user(services, "health1", "health_officer", ORG, PASSWORD)
        keep("web world", settings, {"officers": dict(officers)})
    try:
        yield World(services, clock, officers)
    finally:
        services.close()


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:  # type: ignore[type-arg]
    app = create_app(world.services.settings, services=world.services)
    with TestClient(app, base_url="http://127.0.0.1") as test_client:
        yield test_client


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def staff_login(client: TestClient, username: str = "officer1", path: str = "/kiosk/login") -> str:  # type: ignore[type-arg]
    """Log in at a web login page; returns the next page's HTML."""
    page = client.get(path)
    response = client.post(
        path,
        data={"csrf_token": csrf_of(page.text), "username": username, "password": PASSWORD},
    )
    assert response.status_code == 200, response.text
    return response.text


def open_kiosk(
    client: TestClient,  # type: ignore[type-arg]
    subject_id: uuid.UUID,
    language: str = "id",
    username: str = "officer1",
) -> str:
    """Staff logs in and opens a kiosk session for the subject; returns the home page."""
    start = staff_login(client, username)
    response = client.post(
        "/kiosk/start",
        data={"csrf_token": csrf_of(start), "subject_id": str(subject_id), "language": language},
    )
    assert response.status_code == 200, response.text
    assert str(response.url).endswith("/kiosk/home")
    return response.text
