"""Fixtures of the insider tests: the world of tests/world.py."""

from tests.world import world

__all__ = ["world"]
