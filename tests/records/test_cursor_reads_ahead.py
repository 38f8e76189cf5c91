"""Statements sent ahead (one round trip on PostgreSQL) read exactly the rows they read
when asked one by one, a read that needs more still runs it, and the token check that
sends the account events ahead still refuses a disabled account at once."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from sqlalchemy import column, func, select, table, update

from tests.world import World
from vault.access.facts import _ASSIGNED
from vault.consent.grants import grants_ahead
from vault.cursor_reads import CursorReader, NotSentAhead
from vault.identity.models import User
from vault.identity.service import _TOKEN_LOOKUP
from vault.identity.tokens import token_digest
from vault.records.rows import RECORD_READ

# The server process that answers a read (PostgreSQL only).
_BACKEND = select(func.pg_backend_pid())
# The statements prepared on the connection that answers (PostgreSQL only).
_PREPARED_HERE = select(column("name"), column("statement")).select_from(
    table("pg_prepared_statements")
)


def test_statements_sent_ahead_read_the_same_rows_as_asked_one_by_one(world: World) -> None:
    """The token, record, consent and assignment rows sent ahead equal those asked alone,
    and a statement not sent ahead is still answered in the same read."""
    record_id = uuid.UUID(
        world.create_record("counselor", "progress_note", {"note": "Slept well this week."})
    )
    subject = uuid.UUID(world.subject_id)
    counselor = uuid.UUID(world.user_ids["counselor"])
    bearer = world.auth("counselor")["Authorization"].removeprefix("Bearer ")
    queries: list[tuple[Any, dict[str, Any]]] = [
        (_TOKEN_LOOKUP, {"digest": token_digest(bearer)}),
        (RECORD_READ, {"subject_id": subject, "record_id": record_id}),
        grants_ahead(subject, datetime.now(UTC)),
        (_ASSIGNED, {"user_id": counselor, "subject_id": subject}),
    ]
    db = world.services.db
    with db.read_cursor() as reads:
        expected = [[tuple(row) for row in reads.execute(*query).all()] for query in queries]
    assert all(expected)
    for one_statement in (False, True):
        with db.read_cursor(one_statement=one_statement, ahead=queries[1:]) as reads:
            got = [[tuple(row) for row in reads.execute(*query).all()] for query in queries]
        assert got == expected


def test_a_read_that_needs_more_than_was_sent_is_decided_the_ordinary_way(world: World) -> None:
    """A read of a subject that does not exist (a decoy check not sent ahead) is still a
    404 with its refusal recorded, and the next read is answered as before."""
    record_id = world.create_record("counselor", "progress_note", {"note": "Calm."})
    missing = world.read("counselor", record_id, "counseling", subject_id=str(uuid.uuid4()))
    assert missing.status_code == 404
    answered = world.read("counselor", record_id, "counseling")
    assert answered.status_code == 200, answered.text
    assert answered.json()["fields"]["note"] == "Calm."


def test_a_disabled_account_copied_back_to_its_earlier_row_is_refused_at_once(
    world: World,
) -> None:
    """Disabling takes effect on the very next request, even when the whole earlier row
    (with its genuine seal) is copied back: the audit log's epoch refuses it."""
    world.join("victim", "counselor", "rutan-jakpus")
    headers = world.auth("victim")
    assert world.client.get("/v1/me", headers=headers).status_code == 200
    user_id = uuid.UUID(world.user_ids["victim"])
    columns = [c for c in User.__table__.c if c.key != "id"]  # type: ignore[attr-defined]  # SQLModel sets it
    with world.services.db.read_session() as session:
        before = session.execute(select(*columns).where(User.id == user_id)).one()
    disabled = world.client.post(f"/v1/users/{user_id}/disable", headers=world.auth("admin"))
    assert disabled.status_code == 200, disabled.text
    assert world.client.get("/v1/me", headers=headers).status_code == 401
    with world.services.db.session() as session:
        restore = dict(zip([c.key for c in columns], before, strict=True))
        session.execute(update(User).where(User.id == user_id).values(**restore))
    assert world.client.get("/v1/me", headers=headers).status_code == 401


def test_a_hostile_value_sent_ahead_is_matched_as_a_value_only(world: World) -> None:
    """Values sent ahead are bound by the driver, never pasted into the statement: a token
    digest made of quotes, a statement separator and a comment finds nothing, runs nothing,
    and the genuine lookup beside it in the same round trip still finds its token."""
    bearer = world.auth("counselor")["Authorization"].removeprefix("Bearer ")
    hostile = [
        "x'; DELETE FROM subjects; --",
        "x\\'); DROP TABLE auth_tokens; --",
        "$$; SELECT 1; $$",
        "'' OR ''=''",
    ]
    queries: list[tuple[Any, dict[str, Any]]] = [
        *((_TOKEN_LOOKUP, {"digest": digest}) for digest in hostile),
        (_TOKEN_LOOKUP, {"digest": token_digest(bearer)}),
    ]
    for one_statement in (False, True):
        with world.services.db.read_cursor(one_statement=one_statement, ahead=queries) as reads:
            found = [reads.execute(*query).all() for query in queries]
        assert found[:-1] == [[] for _ in hostile]
        assert len(found[-1]) == 1
    subject = world.client.get(f"/v1/subjects/{world.subject_id}", headers=world.auth("counselor"))
    assert subject.status_code == 200, subject.text
    assert world.client.get("/v1/me", headers=world.auth("counselor")).status_code == 200


class _TwoKept(CursorReader):
    IDLE_POSTGRES_CONNECTIONS = 2


class _TwoKeptPatient(_TwoKept):
    # Waits long enough that a read stalled by the rest of a loaded test run (another
    # worker's schema changes on the same server) is not taken for one that never waits.
    POSTGRES_WAIT_SECONDS = 1.0


def _two_kept(world: World, reader: type[CursorReader] = _TwoKept) -> CursorReader:
    """A reader of the world's store that keeps two PostgreSQL connections."""
    if world.services.db.is_sqlite:
        pytest.skip("SQLite connections are files in this process, not server processes")
    return reader(world.services.db.engine)


def test_reads_beyond_the_kept_connections_open_their_own_and_close_them(world: World) -> None:
    """On PostgreSQL a reader keeps a bounded number of connections; a read nested inside
    reads that hold all of them does not wait forever for itself, and the connection it
    opened is closed after it rather than kept."""
    reader = _two_kept(world)
    digest_of = {"digest": "no such token"}

    def backends() -> set[int]:
        with reader.reads(one_statement=True) as reads:
            return {row[0] for row in reads.execute(_BACKEND, {}).all()}

    try:
        with reader.reads() as outer, reader.reads() as middle, reader.reads() as inner:
            # Three reads at once on two kept connections: the third opened its own.
            seen = [r.execute(_TOKEN_LOOKUP, digest_of).all() for r in (outer, middle, inner)]
            pids = {r.execute(_BACKEND, {}).all()[0][0] for r in (outer, middle, inner)}
        assert seen == [[], [], []]
        assert len(pids) == 3
        # Afterwards only the two kept ones are used again; the third is gone.
        assert backends() <= pids
        with reader.reads() as one, reader.reads() as two:
            again = {r.execute(_BACKEND, {}).all()[0][0] for r in (one, two)}
        assert len(again) == 2
        assert again < pids
    finally:
        reader.close()


def test_many_reads_at_once_share_the_kept_connections(world: World) -> None:
    """More reads at once than connections kept wait for one of them instead of opening
    (and closing) a server process each: the churn that cost the database more CPU than
    the reads themselves."""
    reader = _two_kept(world, _TwoKeptPatient)
    seen: set[int] = set()

    def read_often() -> None:
        for _ in range(25):
            with reader.reads(ahead=[(_TOKEN_LOOKUP, {"digest": "none"})]) as reads:
                reads.execute(_TOKEN_LOOKUP, {"digest": "none"})
                seen.add(reads.execute(_BACKEND, {}).all()[0][0])

    try:
        with reader.reads() as first, reader.reads() as second:  # both kept ones opened
            first.execute(_BACKEND, {})
            second.execute(_BACKEND, {})
        threads = [threading.Thread(target=read_often) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        reader.close()
    # 200 reads by 8 threads; a read waits for a kept connection, so only a thread
    # starved that long opens one of its own (without the wait: dozens).
    assert len(seen) <= 3, len(seen)


def test_every_statement_sent_ahead_is_planned_once_per_connection(world: World) -> None:
    """On PostgreSQL each hot statement sent ahead is prepared on the connection the first
    time and executed by name after that; none falls back to being planned on every read."""
    reader = _two_kept(world)
    record_id = uuid.UUID(world.create_record("counselor", "progress_note", {"note": "Ok."}))
    subject = uuid.UUID(world.subject_id)
    counselor = uuid.UUID(world.user_ids["counselor"])
    queries: list[tuple[Any, dict[str, Any]]] = [
        (_TOKEN_LOOKUP, {"digest": "none"}),
        (RECORD_READ, {"subject_id": subject, "record_id": record_id}),
        grants_ahead(subject, datetime.now(UTC)),
        (_ASSIGNED, {"user_id": counselor, "subject_id": subject}),
    ]
    try:
        for _ in range(2):
            with reader.reads(ahead=queries) as reads:
                assert reads.execute(*queries[1]).all()
                prepared = {
                    row[0]: row[1]
                    for row in reads.execute(_PREPARED_HERE, {}).all()
                    if row[0].startswith("vault_read_")
                }
        # One prepared statement per statement sent, none twice, none left as text.
        assert len(prepared) == len(queries)
    finally:
        reader.close()


def test_a_read_of_only_what_it_sent_ends_its_snapshot_with_that_round_trip(
    world: World,
) -> None:
    """With ``only_ahead`` the snapshot ends with the string that answers the statements
    sent: asking anything else raises NotSentAhead, and the connection goes back clean
    (no transaction left open, the same server process answers the next read)."""
    reader = _two_kept(world)
    record_id = uuid.UUID(world.create_record("counselor", "progress_note", {"note": "Ok."}))
    sent = (RECORD_READ, {"subject_id": uuid.UUID(world.subject_id), "record_id": record_id})
    try:
        with reader.reads(ahead=[(_BACKEND, {})], only_ahead=True) as reads:
            first = reads.execute(_BACKEND, {}).all()[0][0]

        def ask_beyond() -> None:
            with reader.reads(ahead=[sent], only_ahead=True) as reads:
                assert reads.execute(*sent).all()
                reads.execute(_BACKEND, {})  # out of the block, as a plan would let it go

        with pytest.raises(NotSentAhead):
            ask_beyond()
        with reader.reads(ahead=[(_BACKEND, {})], only_ahead=True) as reads:
            again = reads.execute(_BACKEND, {}).all()[0][0]
        with reader.reads(one_statement=True) as reads:
            status = reads.execute(select(func.now() == func.statement_timestamp()), {}).all()
        assert again == first  # a kept connection, not closed after NotSentAhead
        assert status[0][0]  # each statement its own transaction: nothing was left open
    finally:
        reader.close()


def test_probing_records_that_do_not_exist_opens_no_connections(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reads that need more than they sent (a subject that does not exist) are decided
    once more in an open transaction, on a kept connection: a caller probing ids costs
    the database no new server process per request."""
    if world.services.db.is_sqlite:
        pytest.skip("SQLite connections are files in this process, not server processes")
    record_id = world.create_record("counselor", "progress_note", {"note": "Calm."})
    assert world.read("counselor", record_id, "counseling").status_code == 200
    # Counted in this process (the database's own session count includes other
    # test workers' connections).
    opened: list[int] = []
    connect = psycopg.connect

    def counting(*args: Any, **kwargs: Any) -> Any:
        opened.append(1)
        return connect(*args, **kwargs)

    monkeypatch.setattr(psycopg, "connect", counting)
    for _ in range(20):
        probe = world.read("counselor", str(uuid.uuid4()), "counseling", str(uuid.uuid4()))
        assert probe.status_code == 404
    assert len(opened) <= 2  # the audit writer may open its own; no one per read
