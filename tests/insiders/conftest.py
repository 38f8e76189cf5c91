"""Fixtures of the insider tests: the world of tests/world.py and the break-glass ward."""

from collections.abc import Iterator

import pytest

from tests.insiders.ward import Ward, ward_over
from tests.world import world
from vault.config import Settings

__all__ = ["ward", "world"]


@pytest.fixture
def ward(settings: Settings) -> Iterator[Ward]:
    """A health officer and two compliance officers of one organisation, one of another,
    and a subject, on a clock the test moves."""
    with ward_over(settings) as found:
        yield found
