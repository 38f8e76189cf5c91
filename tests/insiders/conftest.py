"""Fixtures of the insider tests: the world of tests/world.py, the kiosk's world of
tests/web (two organisations, officers, a counselor, a compliance officer) and the
break-glass ward."""

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.insiders.ward import Ward, ward_over
from tests.web.conftest import World as KioskWorld
from tests.web.conftest import build_world as build_kiosk_world
from tests.world import world
from vault.app import create_app
from vault.config import Settings

__all__ = ["kiosk_client", "kiosk_world", "ward", "world"]


@pytest.fixture
def kiosk_world(settings: Settings) -> Iterator[KioskWorld]:
    """The kiosk's world on each database backend."""
    with build_kiosk_world(settings) as built:
        yield built


@pytest.fixture
def kiosk_client(kiosk_world: KioskWorld) -> Iterator[TestClient[Any]]:
    """A browser-like client on the loopback address (the kiosk's cookies are sent back)."""
    app = create_app(kiosk_world.services.settings, kiosk_world.services)
    with TestClient(app, "http://127.0.0.1") as client:
        yield client


@pytest.fixture
def ward(settings: Settings) -> Iterator[Ward]:
    """A health officer and two compliance officers of one organisation, one of another,
    and a subject, on a clock the test moves."""
    with ward_over(settings) as found:
        yield found
