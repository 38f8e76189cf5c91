"""Fixtures of the identity tests: real services over a migrated store, a movable clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from litestar.testing import TestClient

from vault.app import create_app
from vault.config import Settings
from vault.services import Services, build_services


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


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
def client(settings: Settings, services: Services) -> Iterator[TestClient]:  # type: ignore[type-arg]
    with TestClient(create_app(settings, services)) as test_client:
        yield test_client
