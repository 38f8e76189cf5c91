"""Fixtures of the key tests: a migrated store and the key services over it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from keys_support import KeyEnv

from vault.config import Settings, load_settings
from vault.db import Database
from vault.keys.wiring import ensure_provider, key_services


@pytest.fixture
def env(settings: Settings) -> Iterator[KeyEnv]:
    """A migrated database, a fresh keyring and the key services (no other capability)."""
    db = Database(settings.database_url)
    db.migrate()
    provider, _ = ensure_provider(settings, db)
    yield KeyEnv(settings, db, key_services(settings, provider, db))
    provider.close()
    db.dispose()


@pytest.fixture
def settings_sqlite(tmp_path: Path) -> Iterator[KeyEnv]:
    """Like ``env`` but always on a SQLite file (for tests that read the file itself)."""
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path / 'vault.db'}",
        keys_dir=tmp_path / "keys",
        testing=True,
        argon2_profile="cheapest",
    )
    db = Database(settings.database_url)
    db.migrate()
    provider, _ = ensure_provider(settings, db)
    yield KeyEnv(settings, db, key_services(settings, provider, db))
    provider.close()
    db.dispose()


from tests.world import world  # noqa: E402  # the end-to-end world, also for erasure tests

__all__ = ["env", "settings_sqlite", "world"]
