"""The walking skeleton: settings, store, problem details, health, OpenAPI."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from litestar.testing import TestClient
from sqlmodel import SQLModel

import vault.tables  # noqa: F401  (registers every table)
from vault.app import create_app
from vault.bootstrap import initialise
from vault.config import Settings, load_settings
from vault.db import Database
from vault.errors import ConfigurationError


def test_bad_setting_names_the_variable() -> None:
    """An unusable configuration is refused with the name of the variable at fault."""
    with pytest.raises(ConfigurationError, match="VAULT_DATABASE_URL"):
        load_settings(database_url="mysql://nowhere")
    with pytest.raises(ConfigurationError, match="VAULT_PKCS11_MODULE"):
        load_settings(key_provider="pkcs11")


def test_cheap_hashing_is_refused_outside_tests() -> None:
    """The weak argon2 profile cannot be switched on in production by accident."""
    with pytest.raises(ConfigurationError, match="VAULT_TESTING"):
        load_settings(argon2_profile="cheapest", testing=False)


def test_migrations_match_the_models(settings: Settings, real_migrations: None) -> None:
    """After `vault init` (the real Alembic upgrade from an empty store) the schema is
    exactly what the table models declare."""
    initialise(settings)
    db = Database(settings.database_url)
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    db.dispose()
    assert diff == []


def test_init_is_idempotent(settings: Settings) -> None:
    """Running init twice leaves a working store and raises nothing."""
    initialise(settings)
    initialise(settings)


def test_sqlite_connections_are_hardened(tmp_path: Path) -> None:
    """Every SQLite connection runs with WAL, foreign keys and secure_delete."""
    db = Database(f"sqlite:///{tmp_path / 'p.db'}")
    with db.engine.connect() as conn:
        pragma = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "foreign_keys", "secure_delete")
        }
    db.dispose()
    assert pragma == {"journal_mode": "wal", "foreign_keys": 1, "secure_delete": 1}
    assert sqlite3.connect(tmp_path / "p.db").execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_health_and_request_id(settings: Settings) -> None:
    """Health answers without a token and every response carries a request id."""
    initialise(settings)
    with TestClient(create_app(settings)) as client:
        response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert len(response.headers["x-request-id"]) == 16


def test_openapi_is_served_without_a_cdn(settings: Settings) -> None:
    """The OpenAPI document is JSON at /schema and names no external script."""
    initialise(settings)
    with TestClient(create_app(settings)) as client:
        response = client.get("/schema")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")
    assert "cdn" not in response.text.lower()


def test_unknown_route_is_a_problem(settings: Settings) -> None:
    """A wrong path gets an RFC 9457 problem, not HTML or a stack trace."""
    initialise(settings)
    with TestClient(create_app(settings)) as client:
        response = client.get("/v1/no-such-thing")
    assert response.status_code in (401, 404)
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert {"type", "title", "status"} <= body.keys()
    assert body["request_id"] == response.headers["x-request-id"]


@pytest.mark.parametrize("host", ["localhost:8000", "127.0.0.1:8765", "LOCALHOST"])
def test_allowed_host_with_a_port_is_served(settings: Settings, host: str) -> None:
    """A client naming an allowed host with a port (as curl and browsers do) is served."""
    initialise(settings)
    with TestClient(create_app(settings)) as client:
        response = client.get("/health", headers={"host": host})
    assert response.status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "localhost.evil.example"])
def test_foreign_host_is_a_problem(settings: Settings, host: str) -> None:
    """A Host header outside VAULT_ALLOWED_HOSTS gets a 400 problem with a request id."""
    initialise(settings)
    with TestClient(create_app(settings)) as client:
        response = client.get("/health", headers={"host": host})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["request_id"] == response.headers["x-request-id"]
