"""Scratch databases for benchmarks: a SQLite file in a temporary folder, or a
PostgreSQL schema of its own that is dropped afterwards, whatever happens."""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from bench.common import POSTGRES_URL


@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="vault-bench-") as tmp:
        yield f"sqlite:///{Path(tmp) / 'bench.db'}"


def postgres_reachable() -> bool:
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        engine.dispose()
    except Exception:  # noqa: BLE001 - any failure means: skip PostgreSQL, say so
        return False
    return True


@contextmanager
def postgres_url() -> Iterator[str]:
    """A URL whose search_path is a fresh schema; the schema is dropped on exit."""
    schema = f"bench_{secrets.token_hex(5)}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


@contextmanager
def store(kind: str) -> Iterator[str]:
    """``kind`` is "sqlite" or "postgresql"."""
    if kind == "sqlite":
        with sqlite_url() as url:
            yield url
    else:
        with postgres_url() as url:
            yield url
