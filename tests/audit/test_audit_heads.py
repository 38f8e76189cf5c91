"""Audit tree heads: chained, checked before signing, refused after a rewrite."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import text

from tests.audit.conftest import sample_event
from tests.audit.fakes import InterceptedLog, rewrite_and_rehash
from vault.audit.heads import HeadKeeper
from vault.audit.tree import CursorNodeStore, NodeStatements
from vault.audit.verify import verify_chain
from vault.crypto.signing import Signer
from vault.db import Database
from vault.errors import AuditUnavailable
from vault.transparency import (
    Checkpoint,
    Note,
    consistency_proof,
    hash_leaf,
    root_of_leaf_hashes,
    verify_consistency,
)

SEED = bytes(range(32))


@pytest.fixture
def signed_log(make_log: Callable[..., InterceptedLog]) -> InterceptedLog:
    return make_log(signer=Signer(SEED))


def stored(db: Database, query: str, **params: Any) -> list[Any]:
    with db.engine.connect() as conn:
        return list(conn.execute(text(query), params).all())


def chain_hashes(db: Database) -> list[bytes]:
    return [bytes(r[0]) for r in stored(db, "SELECT hash FROM audit_events ORDER BY seq")]


def log_with_tail(
    make_log: Callable[..., InterceptedLog], signed: int, tail: int
) -> InterceptedLog:
    """A log whose first ``signed`` events are under a signed head, ``tail`` more after it."""
    log = make_log(signer=Signer(SEED))
    for n in range(signed):
        log.append(sample_event(n))
    log.checkpoint_now()
    for n in range(tail):
        log.append(sample_event(n))
    return log


def test_the_stored_tree_is_the_rfc9162_tree_of_the_chain_hashes(
    signed_log: InterceptedLog, db: Database
) -> None:
    """After batches of events the stored nodes give the root of the chain hashes as leaves."""
    for n in range(13):
        signed_log.append(sample_event(n))
    head = signed_log.checkpoint_now()
    assert head is not None
    hashes = [bytes(r[0]) for r in stored(db, "SELECT hash FROM audit_events ORDER BY seq")]
    rows = stored(db, "SELECT size, root, note FROM audit_heads ORDER BY size")
    assert [r[0] for r in rows] == [13]
    assert bytes(rows[0][1]) == root_of_leaf_hashes([hash_leaf(h) for h in hashes])
    checkpoint = Checkpoint.parse(Note.parse(rows[0][2]).text)
    assert checkpoint.previous is not None
    assert checkpoint.previous.size == 0


def test_each_head_names_the_previous_and_extends_it(
    signed_log: InterceptedLog, db: Database
) -> None:
    """A second head carries a prev line naming the first, and the tree is consistent with it."""
    for n in range(5):
        signed_log.append(sample_event(n))
    signed_log.checkpoint_now()
    for n in range(6):
        signed_log.append(sample_event(n))
    signed_log.checkpoint_now()
    rows = stored(db, "SELECT size, root, note FROM audit_heads ORDER BY size")
    assert [r[0] for r in rows] == [5, 11]
    second = Checkpoint.parse(Note.parse(rows[1][2]).text)
    assert second.previous is not None
    assert (second.previous.size, second.previous.root) == (5, bytes(rows[0][1]))
    with signed_log.engine.connect() as conn:
        store = CursorNodeStore(conn.connection.cursor(), NodeStatements(db.engine.dialect))
        proof = consistency_proof(store, 5, 11)
    verify_consistency(5, 11, bytes(rows[0][1]), bytes(rows[1][1]), proof)


@pytest.mark.parametrize("nodes", [False, True], ids=["events-only", "events-and-tree"])
def test_a_rewritten_log_gets_no_head_and_halts(
    make_log: Callable[..., InterceptedLog], db: Database, nodes: bool
) -> None:
    """Rewrite signed events (and the tree), restart, append one: no head, audited work stops."""
    first = make_log(signer=Signer(SEED))
    for n in range(8):
        first.append(sample_event(n))
    first.checkpoint_now()
    first.close()
    rewrite_and_rehash(db, 3, nodes=nodes)
    signed_log = make_log(signer=Signer(SEED))
    signed_log.append(sample_event(99))
    with pytest.raises(AuditUnavailable):
        signed_log.checkpoint_now()
    assert [r[0] for r in stored(db, "SELECT size FROM audit_heads")] == [8]
    alerts = stored(db, "SELECT seq FROM audit_events WHERE action = 'audit.head_refused'")
    assert len(alerts) == 1
    assert stored(db, "SELECT count(*) FROM audit_halts WHERE resolved = false")[0][0] == 1
    with pytest.raises(AuditUnavailable):
        signed_log.append(sample_event(100))


def test_the_check_survives_a_restart(
    make_log: Callable[..., InterceptedLog], db: Database
) -> None:
    """A new process reads the last signed head from the database and refuses a rewrite too."""
    first = make_log(signer=Signer(SEED))
    for n in range(6):
        first.append(sample_event(n))
    first.checkpoint_now()
    first.close()
    rewrite_and_rehash(db, 2, nodes=True)
    second = make_log(signer=Signer(SEED))
    second.append(sample_event(7))
    with pytest.raises(AuditUnavailable):
        second.checkpoint_now()
    assert [r[0] for r in stored(db, "SELECT size FROM audit_heads")] == [6]


def test_a_head_recomputed_in_chunks_signs_the_same_tree_and_refuses_a_rewrite(
    make_log: Callable[..., InterceptedLog], db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Events since the last head are read a few at a time: the head is still right, a rewrite
    in a later chunk is still refused (memory stays bounded after a long pause in signing)."""
    monkeypatch.setattr("vault.audit.heads.RECOMPUTE_CHUNK", 3)
    first = log_with_tail(make_log, 4, 11)
    first.checkpoint_now()
    hashes = chain_hashes(db)
    rows = stored(db, "SELECT size, root FROM audit_heads ORDER BY size")
    assert [r[0] for r in rows] == [4, 15]
    assert bytes(rows[1][1]) == root_of_leaf_hashes([hash_leaf(h) for h in hashes])
    for n in range(10):
        first.append(sample_event(n))
    rewrite_and_rehash(db, 22, nodes=False)  # past the last head, in its fourth chunk
    second = make_log(signer=Signer(SEED))
    second.append(sample_event(99))
    with pytest.raises(AuditUnavailable):
        second.checkpoint_now()
    assert [r[0] for r in stored(db, "SELECT size FROM audit_heads ORDER BY size")] == [4, 15]


class HeldCheck:
    """Holds the first check of a head (the one in the snapshot) until released."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        original = HeadKeeper.check
        calls: list[int] = []

        def held(keeper: HeadKeeper, cursor: Any, size: int) -> Any:
            found = original(keeper, cursor, size)
            calls.append(size)
            if len(calls) == 1:
                self.entered.set()
                self.release.wait(timeout=20)
            return found

        monkeypatch.setattr(HeadKeeper, "check", held)


def test_appends_go_on_while_a_head_is_checked(
    make_log: Callable[..., InterceptedLog], db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While `vault audit checkpoint` recomputes the events since the last head, other
    events are committed (the chain's lock is not held for the check); the head signed is
    the one checked, and the next head extends it."""
    signer = Signer(SEED)
    signed_log = make_log(signer=signer, wait_seconds=5)
    for n in range(20):
        signed_log.append(sample_event(n))
    held = HeldCheck(monkeypatch)
    with ThreadPoolExecutor(max_workers=1) as pool:
        signing = pool.submit(signed_log.checkpoint_now)
        assert held.entered.wait(timeout=10)
        seqs = [signed_log.append(sample_event(n)) for n in range(5)]  # not held up
        held.release.set()
        signing.result(timeout=20)
    assert seqs == [21, 22, 23, 24, 25]
    rows = stored(db, "SELECT size, root FROM audit_heads ORDER BY size")
    assert [r[0] for r in rows] == [20]
    assert bytes(rows[0][1]) == root_of_leaf_hashes([hash_leaf(h) for h in chain_hashes(db)[:20]])
    signed_log.checkpoint_now()
    assert [r[0] for r in stored(db, "SELECT size FROM audit_heads ORDER BY size")] == [20, 25]
    assert verify_chain(signed_log.engine, public_keys=[signer.public_jwk()]).ok


def test_a_scheduled_head_over_a_long_tail_does_not_hold_up_the_writer(
    make_log: Callable[..., InterceptedLog], db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A head falling due over more events than the writer checks inline (a bulk import)
    is checked on a thread of its own: reads waiting for their events are not failed."""
    monkeypatch.setattr("vault.audit.log.HEAD_INLINE_EVENTS", 3)
    signed_log = make_log(signer=Signer(SEED), checkpoint_every=5, wait_seconds=5)
    held = HeldCheck(monkeypatch)
    for n in range(5):
        signed_log.append(sample_event(n))
    assert held.entered.wait(timeout=10)  # the head fell due after the fifth event
    seqs = [signed_log.append(sample_event(n)) for n in range(10)]
    held.release.set()
    assert seqs == list(range(6, 16))
    for _ in range(200):
        sizes = [r[0] for r in stored(db, "SELECT size FROM audit_heads ORDER BY size")]
        if sizes:
            break
        threading.Event().wait(0.05)
    assert sizes
    assert 5 <= sizes[0] <= 15
    root = bytes(stored(db, "SELECT root FROM audit_heads WHERE size = :s", s=sizes[0])[0][0])
    leaves = [hash_leaf(h) for h in chain_hashes(db)[: sizes[0]]]
    assert root == root_of_leaf_hashes(leaves)


def test_a_rewrite_during_the_check_is_not_signed_and_halts_the_next_head(
    make_log: Callable[..., InterceptedLog], db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Events and tree rewritten while a head is being checked: the head signed is the root
    of the events as they were checked, never the rewritten one; the next head is refused."""
    log_with_tail(make_log, 4, 8).close()
    # Another process signs (this one would see its own head rewritten and stop at once).
    signed_log = make_log(signer=Signer(SEED), wait_seconds=5)
    honest = root_of_leaf_hashes([hash_leaf(h) for h in chain_hashes(db)])
    held = HeldCheck(monkeypatch)
    with ThreadPoolExecutor(max_workers=1) as pool:
        signing = pool.submit(signed_log.checkpoint_now)
        assert held.entered.wait(timeout=10)
        rewrite_and_rehash(db, 9, nodes=True)
        held.release.set()
        signing.result(timeout=20)
    rows = stored(db, "SELECT size, root FROM audit_heads ORDER BY size")
    assert [r[0] for r in rows] == [4, 12]
    assert bytes(rows[1][1]) == honest
    assert honest != root_of_leaf_hashes([hash_leaf(h) for h in chain_hashes(db)])
    signed_log.append(sample_event(99))
    with pytest.raises(AuditUnavailable):
        signed_log.checkpoint_now()
    assert [r[0] for r in stored(db, "SELECT size FROM audit_heads ORDER BY size")] == [4, 12]
