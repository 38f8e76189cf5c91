"""Stores built once per test process and copied into each test that wants the same one.

Building a test world through the HTTP API (staff, logins, a subject, assignments, a
consent) costs more than most tests that use it. The first test to build a world with
given settings keeps a copy of its store and keys folder, taken before the test runs;
later tests with the same settings (but for their own database and keys folder) get
that copy in their own empty store and folder: a SQLite file copied page by page, a
PostgreSQL schema's rows copied table by table. Each test still owns its store: nothing
it does reaches another test. Tokens in the copy are the kept world's, valid for hours.
"""

from __future__ import annotations

import secrets
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import schema_url
from vault.config import Settings
from vault.db import Database

__all__ = ["keep", "restore"]


@dataclass(frozen=True)
class _Kept:
    store: str  # a SQLite file, or the name of a PostgreSQL schema in the same database
    keys: Path
    facts: dict[str, Any]


_KEPT: dict[tuple[str, str], _Kept] = {}


def _key(kind: str, settings: Settings) -> tuple[str, str]:
    """What a kept store answers for: the builder and every setting but the two places."""
    values = settings.model_dump(exclude={"database_url", "keys_dir"})
    backend = "sqlite" if settings.database_url.startswith("sqlite") else "postgresql"
    return kind, backend + repr(sorted(values.items()))


def keep(kind: str, settings: Settings, facts: dict[str, Any]) -> None:
    """Copy the store and keys that ``settings`` name (just built by ``kind``)."""
    key = _key(kind, settings)
    if key in _KEPT:
        return
    folder = Path(tempfile.mkdtemp(prefix="vault-kept-"))
    shutil.copytree(settings.keys_dir, folder / "keys")
    database = Database(settings.database_url)
    try:
        if database.is_sqlite:
            store = str(folder / "vault.db")
            _copy_sqlite(_sqlite_file(settings.database_url), store)
        else:
            store = f"kept_{secrets.token_hex(6)}"
            _copy_postgres(database, _schema_of(database), store, create=True)
    finally:
        database.dispose()
    _KEPT[key] = _Kept(store=store, keys=folder / "keys", facts=dict(facts))


def restore(kind: str, settings: Settings) -> dict[str, Any] | None:
    """Fill the empty store and keys folder of ``settings`` from a kept copy; its facts."""
    kept = _KEPT.get(_key(kind, settings))
    if kept is None:
        return None
    shutil.copytree(kept.keys, settings.keys_dir, dirs_exist_ok=True)
    database = Database(settings.database_url)
    try:
        if database.is_sqlite:
            _copy_sqlite(kept.store, _sqlite_file(settings.database_url))
        else:
            database.migrate()  # the tables, from the test process's template
            _copy_postgres(database, kept.store, _schema_of(database), create=False)
    finally:
        database.dispose()
    return dict(kept.facts)


def _sqlite_file(url: str) -> str:
    return url.removeprefix("sqlite:///")


def _copy_sqlite(source_path: str, target_path: str) -> None:
    source, target = sqlite3.connect(source_path), sqlite3.connect(target_path)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()


def _schema_of(database: Database) -> str:
    with database.engine.connect() as conn:
        return str(conn.exec_driver_sql("SELECT current_schema()").scalar_one())


def _copy_postgres(database: Database, source: str, target: str, *, create: bool) -> None:
    """Every row of schema ``source`` into the same tables of ``target`` (emptied first)."""
    if create:
        kept = Database(schema_url(database.url, target))
        try:
            with kept.engine.connect() as conn:
                conn.exec_driver_sql(f'CREATE SCHEMA "{target}"')
                conn.commit()
            kept.migrate()
        finally:
            kept.dispose()
    with database.engine.begin() as conn:
        tables = [
            str(name)
            for (name,) in conn.exec_driver_sql(
                f"SELECT tablename FROM pg_tables WHERE schemaname = '{source}' "
                "AND tablename <> 'alembic_version' ORDER BY tablename"
            )
        ]
        # Rows go in as they are: no foreign-key order to find, no trigger to fire.
        statements = ["SET LOCAL session_replication_role = replica"]
        statements.append("TRUNCATE " + ", ".join(f'"{target}"."{table}"' for table in tables))
        statements += [
            f'INSERT INTO "{target}"."{table}" SELECT * FROM "{source}"."{table}"'
            for table in tables
        ]
        conn.exec_driver_sql(";\n".join(statements))
