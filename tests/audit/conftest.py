"""Fixtures of the audit tests: a migrated store and audit logs closed after each test."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.audit.fakes import HmacSigner, InterceptedLog
from vault.audit.events import AuditEvent, Outcome
from vault.audit.log import AuditLog
from vault.config import Settings
from vault.db import Database


@pytest.fixture
def db(migrated_db: Database) -> Database:
    """The test store, migrated to the newest schema (``tests/conftest.py``)."""
    return migrated_db


@pytest.fixture
def make_log(settings: Settings, db: Database) -> Iterator[Callable[..., InterceptedLog]]:
    """Builds audit logs over the test store; closes them all afterwards."""
    logs: list[AuditLog] = []

    def build(**overrides: Any) -> InterceptedLog:
        options: dict[str, Any] = {"signer": HmacSigner(), "checkpoint_every": 1_000_000}
        options.update(overrides)
        log = InterceptedLog(settings.database_url, **options)
        logs.append(log)
        return log

    yield build
    for log in logs:
        log.close()


@pytest.fixture
def audit_log(make_log: Callable[..., InterceptedLog]) -> InterceptedLog:
    return make_log()


def sample_event(n: int = 0, **fields: Any) -> AuditEvent:
    values: dict[str, Any] = {
        "action": "record.read",
        "outcome": Outcome.ALLOW,
        "actor_id": uuid.UUID(int=1000 + n % 7),
        "actor_role": "counselor",
        "actor_org": "rutan-jakpus",
        "subject_id": uuid.UUID(int=n % 5 + 1),
        "categories": ("psychological",),
        "purpose": "counseling",
        "policy_ids": ("counselor-reads-with-consent",),
        "details": {"n": n},
    }
    values.update(fields)
    return AuditEvent(**values)
