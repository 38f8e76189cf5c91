"""The audit writer's own PostgreSQL connections: kept across batches, replaced when the
server ends one, never given back after an error, and left alone by a forked child."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from tests.audit.conftest import sample_event
from tests.audit.fakes import InterceptedLog
from tests.support import in_forked_child
from vault.audit.verify import verify_chain
from vault.db import Database
from vault.errors import AuditUnavailable


@pytest.fixture(autouse=True)
def _postgres_only(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("the writer keeps server connections on PostgreSQL only")


def _note_backends(log: InterceptedLog) -> list[int]:
    """The server process of every batch's transaction, in order."""
    backends: list[int] = []

    def note(cursor: Any) -> None:
        backends.append(cursor.connection.info.backend_pid)

    log.before_commit = note
    return backends


def test_batches_keep_one_connection(audit_log: InterceptedLog) -> None:
    """One batch after another runs on the same kept connection (no connection a batch)."""
    backends = _note_backends(audit_log)
    for n in range(5):
        audit_log.append(sample_event(n))
    assert len(backends) == 5
    assert len(set(backends)) == 1


def test_a_connection_the_server_ended_is_replaced_and_nothing_is_lost(
    audit_log: InterceptedLog, db: Database
) -> None:
    """After the server ends the writer's connection (a restart, an operator), the next
    event is still written, on a new connection, and the chain stays whole."""
    backends = _note_backends(audit_log)
    audit_log.append(sample_event(0))
    with db.engine.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backends[0]})
        connection.commit()
    assert audit_log.append(sample_event(1)) == 2
    assert backends[1] != backends[0]
    assert verify_chain(db.engine).ok


def test_a_failed_batch_does_not_give_its_connection_back(audit_log: InterceptedLog) -> None:
    """A batch that fails is refused to its callers, and the next batch runs on a fresh
    connection, not on the one that saw the error."""
    backends: list[int] = []

    def fail_once(cursor: Any) -> None:
        backends.append(cursor.connection.info.backend_pid)
        if len(backends) == 1:
            raise RuntimeError("disk full")

    audit_log.before_commit = fail_once
    with pytest.raises(AuditUnavailable):
        audit_log.append(sample_event(0))
    assert audit_log.append(sample_event(1)) == 1
    assert backends[1] != backends[0]


def test_a_forked_child_leaves_the_parents_writer_connection_open(
    audit_log: InterceptedLog, db: Database
) -> None:
    """A forked child writes on connections of its own and, even when it collects the
    parent's writer, never ends the parent's server session."""
    backends = _note_backends(audit_log)
    audit_log.append(sample_event(0))
    appended = in_forked_child(
        lambda: ",".join(str(audit_log.append(sample_event(n))) for n in (1, 2))
    )
    assert appended == "2,3"
    assert audit_log.append(sample_event(3)) == 4
    assert backends[-1] == backends[0]
    assert verify_chain(db.engine).ok
