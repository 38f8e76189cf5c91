"""The hot path's bare-cursor reads return exactly what a Session returns.

A read decides on these rows (token, subject, consents, record, fields,
assignment, break-glass grant, wrapped key); a converter that got a type wrong
(a UUID as hex, a naive time, a memoryview for bytes) would change a decision
or a decryption, so every statement is compared on SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import bindparam
from sqlmodel import col

from tests.world import World
from vault.access.facts import _ASSIGNED, _BREAK_GLASS
from vault.consent.grants import GRANTS_AND_EVENTS
from vault.cursor_reads import PreparedQuery, column_names, row_select
from vault.identity.service import _TOKEN_LOOKUP
from vault.identity.tokens import token_digest
from vault.keys.service import _ROW
from vault.records.rows import FIELDS as _FIELDS
from vault.records.rows import RECORD as _RECORD
from vault.records.rows import RECORD_READ
from vault.subjects.models import Subject
from vault.subjects.visibility import _LIVE_SUBJECT as _SUBJECT


def _both(world: World, statement: Any, params: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    with world.services.db.read_session() as session:
        expected = [tuple(row) for row in session.execute(statement, params).all()]
    with world.services.db.read_cursor() as reads:
        got = [tuple(row) for row in reads.execute(statement, params).all()]
    return expected, got


def test_every_hot_statement_reads_the_same_rows_as_a_session(world: World) -> None:
    """Every hot statement reads the same rows as a session."""
    record_id = world.create_record(
        "counselor",
        "psychological_assessment",
        {"instrument": "SRQ-20", "summary": "Sleeps poorly.", "risk_level": "low"},
    )
    opened = world.client.post(
        f"/v1/subjects/{world.subject_id}/break-glass",
        json={"justification": "Seizure in the cell block; the doctor needs the history."},
        headers=world.auth("health"),
    )
    assert opened.status_code == 201, opened.text
    subject = uuid.UUID(world.subject_id)
    counselor = uuid.UUID(world.user_ids["counselor"])
    health = uuid.UUID(world.user_ids["health"])
    bearer = world.auth("counselor")["Authorization"].removeprefix("Bearer ")
    now = datetime.now(UTC)
    cases: list[tuple[Any, dict[str, Any]]] = [
        (_TOKEN_LOOKUP, {"digest": token_digest(bearer)}),
        (_SUBJECT, {"subject_id": subject}),
        (_RECORD, {"record_id": uuid.UUID(record_id)}),
        (_FIELDS, {"record_id": uuid.UUID(record_id)}),
        (GRANTS_AND_EVENTS, {"subject_id": subject, "now": now}),
        (RECORD_READ, {"subject_id": subject, "record_id": uuid.UUID(record_id)}),
        (_ASSIGNED, {"user_id": counselor, "subject_id": subject}),
        (_BREAK_GLASS, {"user_id": health, "subject_id": subject, "now": now}),
        (_ROW, {"subject_id": subject}),
    ]
    for statement, params in cases:
        expected, got = _both(world, statement, params)
        assert expected, f"the world should give rows for {statement}"
        assert got == expected
        # Same Python types too (equal values of another type would still be a bug).
        assert [[type(v) for v in row] for row in got] == [
            [type(v) for v in row] for row in expected
        ]
    # Times come back aware, in UTC, as the decision code compares them with now.
    expected, got = _both(world, GRANTS_AND_EVENTS, {"subject_id": subject, "now": now})
    assert all(row[1].tzinfo is not None for row in got if row[1] is not None)
    # Nothing found is nothing found, and the filters hold (an hour later no grant).
    later = now + timedelta(days=3650)
    assert _both(world, _BREAK_GLASS, {"user_id": health, "subject_id": subject, "now": later}) == (
        [],
        [],
    )
    assert _both(world, _SUBJECT, {"subject_id": uuid.uuid4()}) == ([], [])


def test_rows_answer_to_their_column_names(world: World) -> None:
    """Rows answer to their column names."""
    with world.services.db.read_cursor() as reads:
        row = reads.execute(_SUBJECT, {"subject_id": uuid.UUID(world.subject_id)}).first()
    assert row.id == uuid.UUID(world.subject_id)
    assert row.organization == "rutan-jakpus"
    assert row.erased_at is None


def test_a_cursor_read_is_rolled_back_whatever_ran_in_it(world: World) -> None:
    """Nothing done in a read transaction stays: it ends in a rollback, and the
    connection goes back to the pool usable."""
    subject = {"subject_id": uuid.UUID(world.subject_id)}
    if not world.services.db.is_sqlite:
        # On PostgreSQL the read transaction is READ ONLY: the database refuses the write.
        import psycopg

        with (
            pytest.raises(psycopg.errors.ReadOnlySqlTransaction),
            world.services.db.read_cursor() as reads,
        ):
            reads._cursor.execute("UPDATE subjects SET status = 'released'")
    else:
        with world.services.db.read_cursor() as reads:
            reads._cursor.execute("UPDATE subjects SET status = 'released'")
            assert reads.execute(_SUBJECT, subject).first().status == "released"
    with world.services.db.read_cursor() as reads:
        assert reads.execute(_SUBJECT, subject).first().status != "released"


def test_ids_go_to_the_driver_in_the_stores_own_form(world: World) -> None:
    """Ids go to the driver in the stores own form."""
    dialect = world.services.db.engine.dialect
    prepared = PreparedQuery(_SUBJECT, dialect)
    params = prepared.parameters({"subject_id": uuid.UUID(world.subject_id)})
    # The id goes to the driver in the store's own form (hex text on SQLite, a UUID on PostgreSQL).
    values = list(params.values()) if isinstance(params, dict) else list(params)
    assert values
    assert all(not isinstance(v, str) or len(v) == 32 for v in values)


def test_statements_take_their_columns_from_the_table(world: World) -> None:
    """A statement built by ``row_select`` reads every column of the table, in table
    order, and its rows answer to the columns' names."""
    statement = row_select(Subject).where(col(Subject.id) == bindparam("subject_id"))
    with world.services.db.read_cursor() as reads:
        row = reads.execute(statement, {"subject_id": uuid.UUID(world.subject_id)}).first()
    assert row._fields == tuple(column_names(Subject))
    assert row.organization == "rutan-jakpus"
    assert row.legal_hold is False
