"""Fixtures of the identity tests: see tests/service_fixtures.py."""

from tests.service_fixtures import client, clock, events, services

__all__ = ["client", "clock", "events", "services"]
