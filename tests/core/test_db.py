"""``vault.db``: a writing session commits or rolls back whole; a read session never writes."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from vault.db import Database
from vault.errors import ConfigurationError
from vault.identity.models import Organization


@pytest.fixture
def db(migrated_db: Database) -> Database:
    return migrated_db


def _count(db: Database) -> int:
    with db.read_session() as session:
        return int(session.execute(select(func.count()).select_from(Organization)).scalar_one())


def _organization(code: str) -> Organization:
    return Organization(code=code, name=code, agency="imipas")


def test_session_commits_when_the_work_succeeds(db: Database) -> None:
    """What a unit of work wrote is there afterwards."""
    before = _count(db)
    with db.session() as session:
        session.add(_organization("lapas-commit"))
    assert _count(db) == before + 1


def test_session_rolls_back_everything_on_error(db: Database) -> None:
    """An error half-way leaves nothing of the unit of work behind."""
    before = _count(db)

    def half_way() -> None:
        with db.session() as session:
            session.add(_organization("lapas-half"))
            session.flush()
            raise RuntimeError("half-way")

    with pytest.raises(RuntimeError, match="half-way"):
        half_way()
    assert _count(db) == before


def test_read_session_never_keeps_a_write(db: Database) -> None:
    """Something written through a read session is discarded when it ends."""
    before = _count(db)
    with db.read_session() as session:
        session.add(_organization("lapas-read"))
        session.flush()
    assert _count(db) == before


def test_migrating_twice_changes_nothing(db: Database) -> None:
    """Migration is idempotent: a second run on a migrated store is a no-op."""
    with db.session() as session:
        session.add(_organization("lapas-kept"))
    before = _count(db)
    db.migrate()
    assert _count(db) == before


def test_unreachable_store_names_the_setting(tmp_path: Path) -> None:
    """A database that cannot be opened stops the vault naming VAULT_DATABASE_URL."""
    missing = Database(f"sqlite:///{tmp_path}/no/such/folder/vault.db")
    try:
        with pytest.raises(ConfigurationError, match="VAULT_DATABASE_URL"):
            missing.check_reachable()
    finally:
        missing.dispose()
