"""Shared fixtures: every database test runs on SQLite, and on PostgreSQL when
``VAULT_TEST_POSTGRES_URL`` is set (each test in its own schema, each run in its
own database, so runs cannot collide)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from vault.config import Settings, load_settings
from vault.db import Database

POSTGRES_URL = os.environ.get("VAULT_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgres"] if POSTGRES_URL else ["sqlite"]
TEST_HOSTS = ["127.0.0.1", "localhost", "testserver", "testserver.local"]


def _psycopg_url(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


@pytest.fixture(scope="session")
def postgres_run_database() -> Iterator[str | None]:
    """A database of its own for this test run, dropped at the end."""
    if not POSTGRES_URL:
        yield None
        return
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    admin_url = make_url(_psycopg_url(POSTGRES_URL))
    name = f"vault_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_run_database: str | None
) -> str:
    """An empty database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'vault.db'}"
    assert postgres_run_database is not None
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    schema = f"t_{secrets.token_hex(6)}"
    engine = create_engine(postgres_run_database, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine.dispose()
    url = make_url(postgres_run_database).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def make_settings(database_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "keys_dir": tmp_path / "keys",
        "testing": True,
        "argon2_profile": "cheapest",
        "allowed_hosts": TEST_HOSTS,
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Test settings over an empty database and an empty keys folder."""
    return make_settings(database_url, tmp_path)


@pytest.fixture
def migrated_db(settings: Settings) -> Iterator[Database]:
    """The test store, migrated to the newest schema, disposed of afterwards."""
    database = Database(settings.database_url)
    database.migrate()
    yield database
    database.dispose()
