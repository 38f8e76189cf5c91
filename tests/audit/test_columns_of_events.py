"""The filter-column check, shared out in ranges, and the chain walk in storage order."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import text

from tests.audit.conftest import sample_event
from tests.audit.fakes import InterceptedLog
from vault.audit import columns
from vault.audit.columns import IndexCheck
from vault.audit.verify import verify_chain
from vault.db import Database


@pytest.fixture
def twenty(make_log: Callable[..., InterceptedLog], db: Database) -> Database:
    """Twenty events, and a check cut into ranges of three events."""
    log = make_log()
    for n in range(20):
        log.append(sample_event(n))
    return db


@pytest.fixture(autouse=True)
def small_ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ranges of three events, so twenty events make seven ranges."""
    monkeypatch.setattr(columns, "INDEX_RANGE", 3)


def test_the_first_repointed_row_is_reported_across_ranges(twenty: Database) -> None:
    """Two rows re-pointed in different ranges: the check names the earlier one."""
    with twenty.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET action = 'auth.login' WHERE seq IN (5, 14)"))
    assert IndexCheck(twenty.engine, 0).first_bad_seq() == 5
    report = verify_chain(twenty.engine)
    assert (report.ok, report.first_bad_seq) == (False, 5)


def test_a_repointed_row_in_the_last_range_is_found(twenty: Database) -> None:
    """The last, short range is checked too."""
    with twenty.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET outcome = 'deny' WHERE seq = 20"))
    assert IndexCheck(twenty.engine, 0).first_bad_seq() == 20
    assert IndexCheck(twenty.engine, 19).first_bad_seq() == 20
    assert IndexCheck(twenty.engine, 20).first_bad_seq() is None


def test_a_clean_log_passes_every_range(twenty: Database) -> None:
    """No row differs: no range reports one."""
    assert IndexCheck(twenty.engine, 0).first_bad_seq() is None
    assert verify_chain(twenty.engine).ok


def test_rows_stored_out_of_seq_order_still_verify(twenty: Database) -> None:
    """A row moved to the end of the table (same content) is walked again in seq order."""
    if not twenty.is_sqlite:
        pytest.skip("storage order is walked on SQLite only")
    with twenty.engine.begin() as conn:
        conn.execute(text("CREATE TEMP TABLE moved AS SELECT * FROM audit_events WHERE seq = 4"))
        conn.execute(text("DELETE FROM audit_events WHERE seq = 4"))
        conn.execute(text("INSERT INTO audit_events SELECT * FROM moved"))
        order = [
            row[0] for row in conn.execute(text("SELECT seq FROM audit_events ORDER BY rowid"))
        ]
    assert order[-1] == 4
    report = verify_chain(twenty.engine)
    assert (report.ok, report.events) == (True, 20)


def test_a_row_out_of_order_and_broken_is_still_found(twenty: Database) -> None:
    """Moved to the end and edited: the walk in seq order reports the edited seq."""
    if not twenty.is_sqlite:
        pytest.skip("storage order is walked on SQLite only")
    with twenty.engine.begin() as conn:
        conn.execute(text("CREATE TEMP TABLE moved AS SELECT * FROM audit_events WHERE seq = 9"))
        conn.execute(text("DELETE FROM audit_events WHERE seq = 9"))
        conn.execute(text("UPDATE moved SET hash = zeroblob(32)"))
        conn.execute(text("INSERT INTO audit_events SELECT * FROM moved"))
    report = verify_chain(twenty.engine)
    assert (report.ok, report.first_bad_seq) == (False, 9)


def test_a_range_that_cannot_be_checked_fails_the_check(
    twenty: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A range whose query fails is never read as clean: the error reaches the caller."""
    checked = columns.first_index_mismatch

    def failing(conn: object, limit: int, since: int = 0) -> int | None:
        if since == 9:
            raise RuntimeError("the store went away")
        return checked(conn, limit, since)  # type: ignore[arg-type]  # a Connection here

    monkeypatch.setattr(columns, "first_index_mismatch", failing)
    with pytest.raises(RuntimeError, match="went away"):
        IndexCheck(twenty.engine, 0).first_bad_seq()
