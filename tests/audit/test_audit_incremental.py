"""Verification from the last verified signed head forward, and the full walk on request."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import text

from tests.audit.conftest import sample_event
from tests.audit.fakes import InterceptedLog, rewrite_and_rehash
from vault.audit.canonical import decode, encode, link_hash
from vault.audit.incremental import verify_from_head
from vault.audit.verify import VerifyReport
from vault.crypto.signing import Signer
from vault.db import Database

SEED = bytes(range(32))


def _grow(log: InterceptedLog, count: int, offset: int = 0) -> None:
    for n in range(count):
        log.append(sample_event(n + offset))
    log.checkpoint_now()


@pytest.fixture
def verified_log(make_log: Callable[..., InterceptedLog]) -> InterceptedLog:
    """Six events under a verified head, then four more under a newer head."""
    log = make_log(signer=Signer(SEED))
    _grow(log, 6)
    first = verify_from_head(log.engine, log.heads(), public_keys=[Signer(SEED).public_jwk()])
    assert first.ok, first.problem
    assert (first.first_seq, first.events, first.from_head) == (1, 6, 0)
    _grow(log, 4, offset=6)
    return log


def _verify(log: InterceptedLog, *, full: bool = False) -> VerifyReport:
    return verify_from_head(
        log.engine, log.heads(), public_keys=[Signer(SEED).public_jwk()], full=full
    )


def _edit(db: Database, seq: int, *, rehash: bool) -> None:
    """Change event ``seq``'s purpose (and its own hash, when asked), nothing after it."""
    with db.engine.begin() as conn:
        prev, canonical = conn.execute(
            text("SELECT prev_hash, canonical FROM audit_events WHERE seq = :s"), {"s": seq}
        ).one()
        document = decode(bytes(canonical))
        document["purpose"] = "statistics"
        changed = encode(document)
        digest = link_hash(bytes(prev), changed) if rehash else None
        conn.execute(
            text("UPDATE audit_events SET canonical = :c WHERE seq = :s"), {"c": changed, "s": seq}
        )
        if digest is not None:
            conn.execute(
                text("UPDATE audit_events SET hash = :h WHERE seq = :s"), {"h": digest, "s": seq}
            )


def test_the_incremental_verify_checks_only_the_events_after_the_verified_head(
    verified_log: InterceptedLog,
) -> None:
    """After a verify up to size 6, the next one checks events 7.. and says so."""
    report = _verify(verified_log)
    assert report.ok, report.problem
    assert (report.first_seq, report.from_head, report.full) == (7, 6, False)
    again = _verify(verified_log)
    assert again.first_seq > 10


def test_a_rewrite_in_the_new_range_is_found_incrementally(
    verified_log: InterceptedLog, db: Database
) -> None:
    """An event after the verified head whose content changed fails the incremental verify."""
    _edit(db, 8, rehash=False)
    report = _verify(verified_log)
    assert not report.ok
    assert report.first_bad_seq == 8


def test_a_rewrite_before_the_verified_head_is_found_by_the_full_walk(
    verified_log: InterceptedLog, db: Database
) -> None:
    """Event 3 re-hashed alone passes the incremental verify; --full finds it."""
    assert _verify(verified_log).ok
    _edit(db, 3, rehash=True)
    assert _verify(verified_log).ok
    full = _verify(verified_log, full=True)
    assert not full.ok
    assert full.first_bad_seq == 4
    assert (full.first_seq, full.full) == (1, True)


@pytest.mark.parametrize("nodes", [False, True])
def test_a_rewritten_chain_before_the_verified_head_fails_the_heads_root(
    verified_log: InterceptedLog, db: Database, nodes: bool
) -> None:
    """Event 3 rewritten with the whole chain (and tree) after it: the signed head catches it."""
    assert _verify(verified_log).ok
    rewrite_and_rehash(db, 3, nodes=nodes)
    report = _verify(verified_log)
    assert not report.ok
    assert "signed tree head of size 10" in str(report.problem)
