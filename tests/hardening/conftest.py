"""Fixtures of the hardening suite: the realistic world of tests/world.py, per test on
each backend (``world``) or once per module on SQLite (``shared_world``, for fuzzing)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BACKENDS, make_settings
from tests.world import World, build_world, world
from vault.config import Settings

__all__ = ["backend_world", "shared_world", "world"]


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    """Settings of a vault on a SQLite file of its own (for tests that run real servers)."""
    return make_settings(f"sqlite:///{tmp_path / 'vault.db'}", tmp_path)


@pytest.fixture(scope="module")
def shared_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One world on a SQLite file, shared by the tests of a module (they only add to it)."""
    tmp: Path = tmp_path_factory.mktemp("world")
    yield from build_world(make_settings(f"sqlite:///{tmp / 'vault.db'}", tmp))


def _postgres_schema_url(run_database: str) -> str:
    import secrets

    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    schema = f"h_{secrets.token_hex(6)}"
    engine = create_engine(run_database, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine.dispose()
    url = make_url(run_database).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="module", params=BACKENDS)
def backend_world(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres_run_database: str | None,
) -> Iterator[World]:
    """One world per backend shared by a module's tests (each works on its own records)."""
    tmp: Path = tmp_path_factory.mktemp("world")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'vault.db'}"
    else:
        assert postgres_run_database is not None
        url = _postgres_schema_url(postgres_run_database)
    yield from build_world(make_settings(url, tmp))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Soak tests run only when asked for (``-m soak``): the default run stays short."""
    if "soak" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="soak test: run with -m soak")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)
