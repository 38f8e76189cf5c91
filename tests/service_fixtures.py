"""Fixtures shared by the identity and access tests: real services over a migrated store,
a movable clock, the audit events they append, and an HTTP client.

Imported by those folders' conftest modules (pytest finds fixtures by name there).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.support import Clock, RecordingAudit
from vault.app import create_app
from vault.config import Settings
from vault.services import Services, build_services


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def services(settings: Settings, clock: Clock) -> Iterator[Services]:
    built = build_services(settings, clock=clock, migrate=True)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def events(services: Services) -> RecordingAudit:
    """Every audit event identity and access append from now on (still written for real)."""
    recorder = RecordingAudit(services.audit)
    services.identity.audit = recorder
    services.access.audit = recorder
    return recorder


@pytest.fixture
def client(settings: Settings, services: Services) -> Iterator[TestClient[Litestar]]:
    with TestClient(create_app(settings, services)) as test_client:
        yield test_client
