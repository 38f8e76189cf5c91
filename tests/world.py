"""A small, real world for end-to-end tests of records: staff of every role in one
organisation, one registered subject with an identity record, assignments and a
consent to counseling and social reintegration, all made through the HTTP API."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.kept_stores import keep, restore
from tests.support import choose_pin, create_user, kiosk_header, login
from vault.app import create_app
from vault.bootstrap import initialise
from vault.config import Settings
from vault.services import Services, build_services

ORG = "rutan-jakpus"
SUBJECT_PIN = "482915"
STAFF = {
    "admin": "admin",
    "officer": "officer",
    "counselor": "counselor",
    "counselor2": "counselor",
    "social_worker": "social_worker",
    "health": "health_officer",
    "compliance": "compliance_officer",
}
NEW_SUBJECT = {
    "full_name": "Budi Santoso",
    "nik": "3171012345678901",
    "register_number": "AI 123/2025",
    "date_of_birth": "1990-04-17",
    "organization": ORG,
}


@dataclass
class World:
    client: TestClient[Any]
    services: Services
    sqlite_path: Path | None
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    user_ids: dict[str, str] = field(default_factory=dict)
    assignment_ids: dict[str, str] = field(default_factory=dict)
    subject_id: str = ""
    consent_id: str = ""
    missing_id: str = str(uuid.uuid4())

    def auth(self, who: str) -> dict[str, str]:
        return self.headers[who]

    def post(self, who: str, path: str, body: Any) -> Any:
        headers = self.auth(who)
        if path.startswith("/v1/subjects/") and path.endswith("/consents"):
            # Signing happens in the kiosk session the witness opened for the subject.
            subject_id = path.split("/")[3]
            headers = {**headers, **kiosk_header(self.services, self.user_ids[who], subject_id)}
        response = self.client.post(path, json=body, headers=headers)
        assert response.status_code in (200, 201), response.text
        return response.json()

    def join(self, who: str, role: str, organization: str) -> None:
        """A staff member ``who`` of ``organization`` (created on first use), logged in."""
        self.user_ids[who] = str(create_user(self.services, who, role, organization))
        self.headers[who] = login(self.client, who)

    def create_record(self, who: str, record_type: str, fields: dict[str, str]) -> str:
        body = self.post(
            who, f"/v1/subjects/{self.subject_id}/records", {"type": record_type, "fields": fields}
        )
        return str(body["id"])

    def read(self, who: str, record_id: str, purpose: str, subject_id: str | None = None) -> Any:
        """GET a record as ``who``: of the world's subject, or of ``subject_id``."""
        return self.client.get(
            f"/v1/subjects/{subject_id or self.subject_id}/records/{record_id}",
            params={"purpose": purpose},
            headers=self.auth(who),
        )

    def sign_consent(self, purposes: list[str], subject_id: str | None = None) -> str:
        body = self.post(
            "officer",
            f"/v1/subjects/{subject_id or self.subject_id}/consents",
            {
                "form_id": "rehabilitation",
                "form_version": 1,
                "language": "id",
                "granted_purposes": purposes,
                "signature": {"method": "pin", "pin": SUBJECT_PIN},
            },
        )
        return str(body["id"])


# What a world is beyond its store and keys: kept with a copy of them (tests.kept_stores).
FACTS = ("headers", "user_ids", "assignment_ids", "subject_id", "consent_id")


def build_world(settings: Settings) -> Iterator[World]:
    kept = restore("records world", settings)
    if kept is None:
        initialise(settings)
    services = build_services(settings)
    url = settings.database_url
    sqlite_path = Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite") else None
    try:
        with TestClient(create_app(settings, services)) as client:
            world = World(client=client, services=services, sqlite_path=sqlite_path)
            if kept is not None:
                for name in FACTS:
                    setattr(world, name, kept[name])
                yield world
                return
            for who, role in STAFF.items():
                world.user_ids[who] = str(create_user(services, who, role, ORG))
                world.headers[who] = login(client, who)
            world.subject_id = str(world.post("officer", "/v1/subjects", NEW_SUBJECT)["id"])
            choose_pin(services, world.subject_id, SUBJECT_PIN)
            for who in ("counselor", "social_worker", "health"):
                assignment = {"user_id": world.user_ids[who], "subject_id": world.subject_id}
                world.assignment_ids[who] = str(
                    world.post("admin", "/v1/assignments", assignment)["id"]
                )
            world.consent_id = world.sign_consent(["counseling", "social_reintegration"])
            keep("records world", settings, {name: getattr(world, name) for name in FACTS})
            yield world
    finally:
        services.close()


@pytest.fixture
def world(settings: Settings) -> Iterator[World]:
    """The world above, on each database backend."""
    yield from build_world(settings)
