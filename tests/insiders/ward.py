"""A ward of the break-glass tests: a health officer, compliance officers of the same and of
another organisation, and a subject, on a clock the test moves."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import update

from tests.support import Clock, create_user, insert_subject, login
from vault.access.models import BreakGlass
from vault.app import create_app
from vault.config import Settings
from vault.services import Services, build_services
from vault.vocabulary import Principal, Role

ORG = "rutan-jakpus"
OTHER = "lapas-cipinang"
JUSTIFICATION_TEXT = (
    "Subject collapsed in the cell block; the treating team needs the "
    "current medication history before the ambulance arrives."
)
JUSTIFICATION = {"justification": JUSTIFICATION_TEXT}
STAFF = {
    "health": ("health_officer", ORG),
    "compliance": ("compliance_officer", ORG),
    "compliance2": ("compliance_officer", ORG),
    "compliance_other": ("compliance_officer", OTHER),
}


@dataclass
class Ward:
    client: TestClient[Litestar]
    services: Services
    clock: Clock
    subject: uuid.UUID
    ids: dict[str, uuid.UUID]
    headers: dict[str, dict[str, str]]

    def open(self, who: str, subject: uuid.UUID | None = None) -> Any:
        return self.client.post(
            f"/v1/subjects/{subject or self.subject}/break-glass",
            json=JUSTIFICATION,
            headers=self.headers[who],
        )

    def review(self, who: str, grant_id: str, outcome: str = "unjustified") -> Any:
        return self.client.post(
            f"/v1/break-glass/{grant_id}/review",
            json={"outcome": outcome},
            headers=self.headers[who],
        )

    def lift(self, who: str, blocked: str) -> Any:
        return self.client.post(
            f"/v1/break-glass/blocks/{self.ids[blocked]}/lift", headers=self.headers[who]
        )

    def emergency_read(self, who: str, subject: uuid.UUID | None = None) -> Any:
        return self.client.get(
            f"/v1/subjects/{subject or self.subject}/records",
            params={"purpose": "emergency"},
            headers=self.headers[who],
        )

    def principal(self, who: str) -> Principal:
        role, organization = STAFF[who]
        return Principal(id=self.ids[who], role=Role(role), organization=organization)

    def write_grant(self, grant_id: str, **values: object) -> None:
        """Change columns of a grant straight in the database, as a database writer could."""
        with self.services.db.session() as session:
            session.execute(
                update(BreakGlass).where(BreakGlass.id == uuid.UUID(grant_id)).values(**values)
            )

    def expire(self) -> None:
        self.clock.advance(self.services.settings.break_glass_ttl_seconds)

    def later(self, seconds: float) -> None:
        """Move the clock on, logging everyone in again (bearer tokens expire too)."""
        self.clock.advance(seconds)
        self.headers = {who: login(self.client, who) for who in self.headers}


@contextmanager
def ward_over(settings: Settings) -> Iterator[Ward]:
    """The ward over the store of ``settings``."""
    clock = Clock()
    services = build_services(settings, clock=clock, migrate=True)
    try:
        with TestClient(create_app(settings, services)) as client:
            ids = {who: create_user(services, who, *spec) for who, spec in STAFF.items()}
            headers = {who: login(client, who) for who in STAFF}
            subject = insert_subject(services, ORG)
            yield Ward(client, services, clock, subject, ids, headers)
    finally:
        services.close()
