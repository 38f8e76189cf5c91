"""Connections kept outside the pool: bounded, never reused once unusable, closed with their
keeper, and never used nor closed by a forked child."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.support import in_forked_child
from vault.db import Database
from vault.kept_connections import KeptConnections

_BACKEND = select(func.pg_backend_pid())


class _Connection:
    """Stands in for a DBAPI connection: it can be closed, or fail."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.closed = False
        self.broken = False

    def close(self) -> None:
        self.closed = True


def _keeper(kept: int) -> tuple[KeptConnections, list[_Connection]]:
    made: list[_Connection] = []

    def opened() -> _Connection:
        made.append(_Connection(len(made)))
        return made[-1]

    usable = KeptConnections(kept, opened, lambda c: not c.closed and not c.broken)
    return usable, made


def test_connections_given_back_are_taken_again_up_to_the_bound() -> None:
    """Two kept: a third given back is closed; the kept ones are taken before any is opened."""
    keeper, made = _keeper(2)
    taken = [keeper.take() for _ in range(3)]
    assert [kept for _, kept in taken] == [False, False, False]
    for connection, _ in taken:
        keeper.give_back(connection)
    assert [c.closed for c in made] == [False, False, True]
    again = {keeper.take()[0].number for _ in range(2)}
    assert again == {0, 1}
    assert len(made) == 3


def test_a_broken_idle_connection_is_closed_and_skipped() -> None:
    """A kept connection that broke while idle is never handed out again."""
    keeper, _ = _keeper(2)
    first, _ = keeper.take()
    keeper.give_back(first)
    first.broken = True
    connection, kept = keeper.take()
    assert (connection.number, kept) == (1, False)
    assert first.closed


def test_closing_the_keeper_closes_idle_and_late_connections() -> None:
    """close() closes what is idle, and a connection given back afterwards is closed, not kept."""
    keeper, _ = _keeper(2)
    busy, _ = keeper.take()
    idle, _ = keeper.take()
    keeper.give_back(idle)
    keeper.close()
    assert idle.closed
    assert not busy.closed
    keeper.give_back(busy)
    assert busy.closed


def test_a_forked_child_neither_uses_nor_ends_the_parents_read_connections(
    migrated_db: Database,
) -> None:
    """A child forked after the parent read reads on connections of its own (the hot path's
    and the pool's), and disposing of its store leaves the parent's server sessions alive."""
    if migrated_db.is_sqlite:
        pytest.skip("SQLite connections are files in this process, not server sessions")

    def backends() -> tuple[int, int]:
        """The server sessions of a hot-path read and of a pooled session."""
        with migrated_db.read_cursor(one_statement=True) as reads:
            kept = int(reads.execute(_BACKEND, {}).all()[0][0])
        with migrated_db.read_session() as session:
            pooled = int(session.execute(_BACKEND).scalar_one())
        return kept, pooled

    parents = backends()
    assert backends() == parents  # both kept for the next read

    def childs_backends() -> str:
        childs = backends()
        migrated_db.dispose()
        return ",".join(map(str, childs))

    childs = tuple(int(pid) for pid in in_forked_child(childs_backends).split(",") if pid)
    assert len(childs) == 2
    assert not set(childs) & set(parents)
    assert backends() == parents
