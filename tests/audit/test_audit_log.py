"""The audit log appends durably, chains every event, and batches concurrent callers."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select, text

from tests.audit.conftest import sample_event
from tests.audit.fakes import HmacSigner, InterceptedLog, hmac_verifier
from vault.audit.canonical import GENESIS_HASH, decode, link_hash
from vault.audit.log import EVENTS, AuditLog
from vault.audit.verify import verify_chain
from vault.db import Database
from vault.requestctx import RequestInfo, reset_current, set_current


def chain_rows(db: Database) -> list[tuple[int, bytes, bytes, bytes]]:
    with db.engine.connect() as conn:
        rows = conn.execute(
            select(EVENTS.c.seq, EVENTS.c.prev_hash, EVENTS.c.canonical, EVENTS.c.hash).order_by(
                EVENTS.c.seq
            )
        )
        return [(int(a), bytes(b), bytes(c), bytes(d)) for a, b, c, d in rows]


def test_append_returns_gapless_seqs_and_links_each_hash(
    audit_log: InterceptedLog, db: Database
) -> None:
    """Each append returns the next seq, and each row hashes its stored bytes onto the last."""
    seqs = [audit_log.append(sample_event(n)) for n in range(5)]
    assert seqs == [1, 2, 3, 4, 5]
    prev = GENESIS_HASH
    for seq, prev_hash, canonical, digest in chain_rows(db):
        assert prev_hash == prev
        assert digest == link_hash(prev, canonical)
        assert decode(canonical)["seq"] == seq
        prev = digest


def test_append_fills_request_context_and_time(audit_log: InterceptedLog, db: Database) -> None:
    """An event without request id or client address takes them from the request context."""
    token = set_current(RequestInfo(request_id="req-abc", client_addr="10.1.2.3"))
    try:
        audit_log.append(sample_event())
    finally:
        reset_current(token)
    document = decode(chain_rows(db)[0][2])
    assert document["request_id"] == "req-abc"
    assert document["client_addr"] == "10.1.2.3"
    assert document["time"].endswith("Z")


def test_concurrent_appends_share_batches_and_stay_gapless(
    make_log: Callable[..., InterceptedLog], db: Database
) -> None:
    """Sixteen threads appending at once get distinct gapless seqs, in fewer commits than events."""
    log = make_log()
    commits: list[int] = []

    def count(conn: object) -> None:
        commits.append(1)

    log.before_commit = count
    with ThreadPoolExecutor(max_workers=16) as pool:
        seqs = list(pool.map(lambda n: log.append(sample_event(n)), range(400)))
    assert sorted(seqs) == list(range(1, 401))
    assert len(commits) < 400
    assert verify_chain(db.engine).ok


def test_append_while_caller_holds_a_read_transaction(
    audit_log: InterceptedLog, db: Database
) -> None:
    """A caller may keep a read transaction open while it appends (the writer has its own)."""
    audit_log.append(sample_event(0))
    with db.read_session() as session:
        before = session.execute(text("SELECT count(*) FROM audit_events")).scalar_one()
        seq = audit_log.append(sample_event(1))
        assert seq == 2
        assert before == 1
    with db.read_session() as session:
        assert session.execute(text("SELECT count(*) FROM audit_events")).scalar_one() == 2


def test_two_logs_over_one_database_keep_one_chain(
    make_log: Callable[..., InterceptedLog], db: Database
) -> None:
    """Two writers (as two processes would have) interleave without forking the chain."""
    first, second = make_log(), make_log()
    barrier = threading.Barrier(2)

    def run(log: AuditLog, offset: int) -> list[int]:
        barrier.wait()
        return [log.append(sample_event(offset + n)) for n in range(60)]

    with ThreadPoolExecutor(max_workers=2) as pool:
        a = pool.submit(run, first, 0)
        b = pool.submit(run, second, 1000)
        seqs = a.result() + b.result()
    assert sorted(seqs) == list(range(1, 121))
    assert verify_chain(db.engine).ok


def test_checkpoint_every_n_events(make_log: Callable[..., InterceptedLog], db: Database) -> None:
    """With checkpoint_every=10, 25 sequential appends leave checkpoints that verify."""
    signer = HmacSigner()
    log = make_log(signer=signer, checkpoint_every=10)
    for n in range(25):
        log.append(sample_event(n))
    log.close()  # the closing checkpoint pins the tail
    report = verify_chain(db.engine, public_keys=[signer.public_jwk()], verifier=hmac_verifier)
    assert report.ok
    assert report.events == 25
    assert report.checkpoints == 3  # at 10, 20 and the tail at 25


def test_checkpoint_after_t_seconds_while_idle(
    make_log: Callable[..., InterceptedLog], db: Database
) -> None:
    """An idle writer still checkpoints the uncheckpointed tail once T seconds pass."""
    signer = HmacSigner()
    log = make_log(signer=signer, checkpoint_every=1000, checkpoint_seconds=0.05)
    log.append(sample_event())
    # The signature is made before the checkpoint row commits: wait for the row.
    stored: list[int] = []
    for _ in range(100):
        with db.engine.connect() as conn:
            stored = list(conn.execute(text("SELECT seq FROM audit_checkpoints")).scalars())
        if stored:
            break
        threading.Event().wait(0.02)
    assert stored == [1]
    assert signer.signed == 1


def test_events_keep_subjects_by_id_only(audit_log: InterceptedLog, db: Database) -> None:
    """Rows index the subject by its internal id so erasure leaves a pseudonymous trail."""
    subject = uuid.uuid4()
    audit_log.append(sample_event(subject_id=subject))
    with db.engine.connect() as conn:
        stored = conn.execute(select(EVENTS.c.subject_id)).scalar_one()
    assert stored == subject


def test_details_must_be_small_scalars() -> None:
    """AuditEvent refuses nested, binary, float or oversized detail values and odd keys."""
    for bad in (
        {"fields": {"nik": "3171"}},
        {"blob": b"\x00"},
        {"score": 1.5},
        {"items": ["a"]},
        {"text": "x" * 257},
        {"Bad Key": 1},
        {"big": 2**70},
    ):
        with pytest.raises(ValueError, match="audit detail"):
            sample_event(details=bad)
    assert sample_event(details={"count": 3, "ok": True, "code": "x", "none": None})
