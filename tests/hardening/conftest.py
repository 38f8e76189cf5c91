"""Fixtures of the hardening suite: the realistic world of tests/world.py, per test on
each backend (``world``) or once per module on SQLite (``shared_world``, for fuzzing)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_settings
from tests.world import World, build_world, world

__all__ = ["shared_world", "world"]


@pytest.fixture(scope="module")
def shared_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One world on a SQLite file, shared by the tests of a module (they only add to it)."""
    tmp: Path = tmp_path_factory.mktemp("world")
    yield from build_world(make_settings(f"sqlite:///{tmp / 'vault.db'}", tmp))
