"""The tests' store template (``tests/conftest.py``): a store filled from it is the store
the real Alembic upgrade makes, on each backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import vault.tables  # noqa: F401  (registers every table)
from tests.conftest import StoreTemplate
from vault.db import MIGRATIONS_DIR, Database


def test_a_store_filled_from_the_template_is_the_migrated_store(
    migrated_db: Database, store_template: StoreTemplate
) -> None:
    """An empty store filled from the template has every table the models declare, and
    the newest revision recorded, as after the real upgrade."""
    assert store_template.enabled
    with migrated_db.engine.connect() as conn:
        context = MigrationContext.configure(conn)
        diff = compare_metadata(context, SQLModel.metadata)
        revision = context.get_current_revision()
    assert diff == []
    assert revision == ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
