"""``vault.audit.chain``: gapless, linked appends; a head that goes back is refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, select

from tests.audit.conftest import sample_event
from vault.audit.canonical import GENESIS_HASH, encode, event_document, link_hash
from vault.audit.chain import Chain, ChainTampered, Head, columns_of
from vault.audit.models import EVENTS
from vault.db import Database
from vault.errors import AuditUnavailable

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _append(chain: Chain, count: int, start: int = 0) -> Head:
    events = [sample_event(start + i, time=NOW) for i in range(count)]
    with chain.transaction() as (cursor, head):
        new_head = chain.append(cursor, head, events, NOW)
    chain.committed(new_head)
    return new_head


def test_appends_are_numbered_without_gaps_and_linked(db: Database) -> None:
    """Each event's hash is SHA-256 of the previous hash and its canonical bytes."""
    chain = Chain(db.engine)
    assert _append(chain, 3)[0] == 3
    head = _append(chain, 2, start=3)
    assert head[0] == 5
    with db.read_session() as session:
        rows = session.execute(
            select(EVENTS.c.seq, EVENTS.c.prev_hash, EVENTS.c.canonical, EVENTS.c.hash).order_by(
                EVENTS.c.seq
            )
        ).all()
    assert [row.seq for row in rows] == [1, 2, 3, 4, 5]
    previous = GENESIS_HASH
    for row in rows:
        assert bytes(row.prev_hash) == previous
        assert bytes(row.hash) == link_hash(previous, bytes(row.canonical))
        previous = bytes(row.hash)
    assert head[1] == previous


def test_stored_bytes_are_the_canonical_document(db: Database) -> None:
    """What is hashed is exactly the canonical encoding of the event at its sequence number."""
    chain = Chain(db.engine)
    _append(chain, 1)
    with db.read_session() as session:
        stored = session.execute(select(EVENTS.c.canonical)).scalar_one()
    assert bytes(stored) == encode(event_document(1, NOW, sample_event(0, time=NOW)))


def test_two_writers_continue_one_chain(db: Database) -> None:
    """A second process appends after the first one's head, not from the start."""
    first, second = Chain(db.engine), Chain(db.engine)
    _append(first, 2)
    assert _append(second, 1, start=2)[0] == 3
    assert _append(first, 1, start=3)[0] == 4


def test_head_that_went_back_is_refused(db: Database) -> None:
    """After rows this process wrote are deleted, it refuses to extend the chain."""
    chain = Chain(db.engine)
    _append(chain, 3)
    with db.session() as session:
        session.execute(delete(EVENTS).where(EVENTS.c.seq > 1))
    with pytest.raises(ChainTampered, match="went back"):
        _append(chain, 1, start=3)


def test_event_without_a_time_never_reaches_the_chain(db: Database) -> None:
    """The time is part of what is hashed: an event without one is refused, nothing written."""
    chain = Chain(db.engine)
    with pytest.raises(AuditUnavailable), chain.transaction() as (cursor, head):
        chain.append(cursor, head, [sample_event(0)], NOW)
    with db.read_session() as session:
        assert session.execute(select(EVENTS.c.seq)).all() == []


def test_row_shape_is_the_tables_own() -> None:
    """The writer's columns are the table's columns, in the table's order."""
    assert columns_of(EVENTS) == [column.key for column in EVENTS.columns]
    assert "canonical" in columns_of(EVENTS)
