"""Verification finds edited, deleted, inserted, reordered and rewritten audit rows."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import Connection, text

from tests.audit.conftest import sample_event
from tests.audit.fakes import HmacSigner, InterceptedLog, hmac_verifier
from vault.audit.canonical import decode, encode, link_hash
from vault.audit.checkpoints import Checkpoint, from_jsonl, to_jsonl
from vault.audit.log import AuditLog
from vault.audit.verify import VerifyReport, stored_checkpoints, verify_chain
from vault.db import Database

SIGNER = HmacSigner()


def verify(db: Database, pinned: list[Checkpoint] | None = None) -> VerifyReport:
    return verify_chain(
        db.engine, public_keys=[SIGNER.public_jwk()], verifier=hmac_verifier, pinned=pinned or []
    )


@pytest.fixture
def chain(make_log: Callable[..., InterceptedLog], db: Database) -> AuditLog:
    """Twenty events with a signed checkpoint at seq 10 (and none after it yet)."""
    log = make_log(signer=SIGNER)
    for n in range(10):
        log.append(sample_event(n))
    assert log.checkpoint_now() is not None
    for n in range(10, 20):
        log.append(sample_event(n))
    assert verify(db).ok
    return log


def rewrite(conn: Connection, seq: int, change: Callable[[dict[str, object]], None]) -> bytes:
    canonical = conn.execute(
        text("SELECT canonical FROM audit_events WHERE seq = :s"), {"s": seq}
    ).scalar_one()
    document = decode(bytes(canonical))
    change(document)
    return encode(document)


def set_purpose(document: dict[str, object]) -> None:
    document["purpose"] = "statistics"


def rehash_from(conn: Connection, first: int) -> None:
    """Recompute prev_hash and hash of every row from ``first`` on, as a careful attacker would."""
    prev = bytes(
        conn.execute(
            text("SELECT hash FROM audit_events WHERE seq = :s"), {"s": first - 1}
        ).scalar_one()
    )
    rows = conn.execute(
        text("SELECT seq, canonical FROM audit_events WHERE seq >= :s ORDER BY seq"), {"s": first}
    ).all()
    for seq, canonical in rows:
        digest = link_hash(prev, bytes(canonical))
        conn.execute(
            text("UPDATE audit_events SET prev_hash = :p, hash = :h WHERE seq = :s"),
            {"p": prev, "h": digest, "s": seq},
        )
        prev = digest


@pytest.mark.usefixtures("chain")
def test_an_edited_event_is_found(db: Database) -> None:
    """Changing one event's stored bytes breaks its hash at that seq."""
    with db.engine.begin() as conn:
        changed = rewrite(conn, 5, set_purpose)
        conn.execute(text("UPDATE audit_events SET canonical = :c WHERE seq = 5"), {"c": changed})
    report = verify(db)
    assert not report.ok
    assert report.first_bad_seq == 5


@pytest.mark.usefixtures("chain")
def test_an_edited_and_rehashed_event_is_found(db: Database) -> None:
    """Recomputing the edited row's own hash still breaks the link to the next event."""
    with db.engine.begin() as conn:
        changed = rewrite(conn, 15, set_purpose)
        prev = conn.execute(text("SELECT prev_hash FROM audit_events WHERE seq = 15")).scalar_one()
        conn.execute(
            text("UPDATE audit_events SET canonical = :c, hash = :h WHERE seq = 15"),
            {"c": changed, "h": link_hash(bytes(prev), changed)},
        )
    report = verify(db)
    assert not report.ok
    assert report.first_bad_seq == 16


@pytest.mark.usefixtures("chain")
def test_a_deleted_event_is_found(db: Database) -> None:
    """Removing a row leaves a gap in seq, found at the missing number."""
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq = 7"))
    report = verify(db)
    assert (report.ok, report.first_bad_seq) == (False, 7)


@pytest.mark.usefixtures("chain")
def test_a_deleted_and_renumbered_event_is_found(db: Database) -> None:
    """Closing the gap by renumbering the following rows still breaks the chain there."""
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq = 7"))
        for seq in range(8, 21):
            conn.execute(
                text("UPDATE audit_events SET seq = :new WHERE seq = :old"),
                {"new": seq - 1, "old": seq},
            )
    report = verify(db)
    assert (report.ok, report.first_bad_seq) == (False, 7)


@pytest.mark.usefixtures("chain")
def test_an_inserted_event_is_found(db: Database) -> None:
    """A forged row slipped into the middle (later rows renumbered) breaks the chain after it."""
    with db.engine.begin() as conn:
        for seq in range(20, 4, -1):
            conn.execute(
                text("UPDATE audit_events SET seq = :new WHERE seq = :old"),
                {"new": seq + 1, "old": seq},
            )
        forged = rewrite(conn, 6, set_purpose)  # the old seq 5, now at 6
        prev = bytes(conn.execute(text("SELECT hash FROM audit_events WHERE seq = 4")).scalar_one())
        conn.execute(
            text(
                "INSERT INTO audit_events (id, created_at, updated_at, seq, time, action, "
                "outcome, actor_id, actor_org, subject_id, break_glass, prev_hash, canonical, "
                "hash) SELECT :id, created_at, updated_at, 5, time, action, outcome, actor_id, "
                "actor_org, subject_id, break_glass, :p, :c, :h FROM audit_events WHERE seq = 6"
            ),
            {"id": uuid.uuid4().hex, "p": prev, "c": forged, "h": link_hash(prev, forged)},
        )
    # The forged row's filter columns match its content (copied from the row it
    # imitates), so it is the chain that breaks, at the first row after it.
    report = verify(db)
    assert (report.ok, report.first_bad_seq) == (False, 6)


@pytest.mark.usefixtures("chain")
def test_an_appended_forgery_is_found(db: Database) -> None:
    """A row added after the head with a made-up hash is found at its seq."""
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_events (id, created_at, updated_at, seq, time, action, "
                "outcome, break_glass, prev_hash, canonical, hash) SELECT :id, created_at, "
                "updated_at, 21, time, action, outcome, break_glass, hash, canonical, :h "
                "FROM audit_events WHERE seq = 20"
            ),
            {"id": uuid.uuid4().hex, "h": bytes(32)},
        )
    report = verify(db)
    assert (report.ok, report.first_bad_seq) == (False, 21)


@pytest.mark.usefixtures("chain")
def test_reordered_events_are_found(db: Database) -> None:
    """Swapping two rows' sequence numbers breaks the link at the first of them."""
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET seq = -3 WHERE seq = 3"))
        conn.execute(text("UPDATE audit_events SET seq = 3 WHERE seq = 4"))
        conn.execute(text("UPDATE audit_events SET seq = 4 WHERE seq = -3"))
    report = verify(db)
    assert (report.ok, report.first_bad_seq) == (False, 3)


@pytest.mark.usefixtures("chain")
def test_a_rewrite_before_a_checkpoint_is_found_by_its_signature(db: Database) -> None:
    """Rewriting events 1..10 consistently cannot match the signed checkpoint at 10."""
    with db.engine.begin() as conn:
        changed = rewrite(conn, 2, set_purpose)
        conn.execute(text("UPDATE audit_events SET canonical = :c WHERE seq = 2"), {"c": changed})
        first_prev = bytes(32)
        digest = link_hash(
            first_prev,
            bytes(
                conn.execute(text("SELECT canonical FROM audit_events WHERE seq = 1")).scalar_one()
            ),
        )
        assert digest == bytes(
            conn.execute(text("SELECT hash FROM audit_events WHERE seq = 1")).scalar_one()
        )
        rehash_from(conn, 2)
    report = verify(db)
    assert not report.ok
    assert report.first_bad_seq == 1  # somewhere in 1..10: no earlier checkpoint narrows it
    assert "checkpoint" in str(report.problem)


@pytest.mark.usefixtures("chain")
def test_a_forged_checkpoint_is_refused(db: Database) -> None:
    """A checkpoint row whose head hash was changed no longer matches its signature."""
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_checkpoints SET head_hash = :h"), {"h": bytes(32)})
    report = verify(db)
    assert (report.ok, report.first_bad_seq) == (False, 10)


def test_the_tail_after_the_last_checkpoint_needs_a_pinned_checkpoint(
    chain: AuditLog, db: Database
) -> None:
    """A consistent rewrite of the tail passes alone but fails against an exported checkpoint."""
    chain.checkpoint_now()  # signs seq 20; a copy is exported and kept elsewhere
    with db.engine.connect() as conn:
        exported = "".join(to_jsonl(stored_checkpoints(conn)))
    pinned = from_jsonl(exported.splitlines())
    with db.engine.begin() as conn:
        # The attacker drops the newest checkpoint from the vault, then rewrites 11..20.
        conn.execute(text("DELETE FROM audit_checkpoints WHERE seq = 20"))
        for seq in range(11, 21):
            changed = rewrite(conn, seq, set_purpose)
            conn.execute(
                text("UPDATE audit_events SET canonical = :c WHERE seq = :s"),
                {"c": changed, "s": seq},
            )
        rehash_from(conn, 11)
    assert verify(db).ok  # the documented limit: nothing in the vault pins the tail
    report = verify(db, pinned=pinned)
    assert not report.ok
    assert report.first_bad_seq == 11


def test_truncation_before_a_checkpoint_is_found(chain: AuditLog, db: Database) -> None:
    """Dropping the newest events is found when a checkpoint names a seq past the new end."""
    chain.checkpoint_now()
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq > 15"))
    report = verify(db)
    assert (report.ok, report.first_bad_seq) == (False, 16)


@pytest.mark.usefixtures("chain")
def test_a_checkpoint_without_a_known_key_fails(db: Database) -> None:
    """A checkpoint no published key verifies counts as tampering, not as a pass."""
    report = verify_chain(
        db.engine,
        public_keys=[HmacSigner(b"other", "test-key-1").public_jwk()],
        verifier=hmac_verifier,
    )
    assert (report.ok, report.first_bad_seq) == (False, 10)


@pytest.mark.usefixtures("chain")
@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("subject_id", "other-uuid"),
        ("subject_id", None),
        ("actor_id", "other-uuid"),
        ("action", "auth.login"),
        ("outcome", "deny"),
        ("break_glass", True),
        ("time", "shifted"),
        ("actor_org", "sentra-handayani"),
        ("actor_org", None),
    ],
)
def test_a_repointed_filter_column_is_found(db: Database, column: str, value: object) -> None:
    """Changing a column the API filters on (leaving the hashed bytes alone) is found:
    otherwise a read could be hidden from a subject's disclosures, an actor's events or
    an organisation's compliance officer."""
    with db.engine.begin() as conn:
        if value == "other-uuid":
            other = uuid.uuid4()
            value = other.hex if db.is_sqlite else str(other)
        elif value == "shifted":  # a year earlier, so a time-range query misses it
            stored = conn.execute(text("SELECT time FROM audit_events WHERE seq = 7")).scalar_one()
            if isinstance(stored, str):
                value = str(int(stored[:4]) - 1) + stored[4:]
            else:
                value = stored.replace(year=stored.year - 1)
        conn.execute(text(f"UPDATE audit_events SET {column} = :v WHERE seq = 7"), {"v": value})
    report = verify(db)
    assert (report.ok, report.first_bad_seq) == (False, 7)
    assert "filter columns" in (report.problem or "")
