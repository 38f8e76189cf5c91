from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.handover.handover_support import Pair, build_pair
from tests.world import World, world

__all__ = ["pair", "world"]


@pytest.fixture
def pair(world: World, tmp_path: Path) -> Iterator[Pair]:
    """The prison's vault (the HTTP world) and a sentra's vault that trust each other."""
    yield from build_pair(world, tmp_path)
