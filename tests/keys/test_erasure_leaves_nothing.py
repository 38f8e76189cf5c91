"""Erasure leaves nothing of the subject in the storage: neither the SQLite files (main
and WAL) nor PostgreSQL's table and index pages hold the wrapped key, a ciphertext, the
consent receipt, the guardian's sealed identity or PIN hash, or a blind-index digest once
it returns; the guardian's identity can no longer be opened."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text

from tests.support import choose_pin
from tests.world import SUBJECT_PIN, World
from vault.consent.service import Guardian, GuardianIdentity, SignRequest
from vault.errors import NotFound
from vault.keys.service import purge_freed_pages
from vault.subjects.erasure import ERASED_RECEIPT, TOUCHED_TABLES
from vault.subjects.registration import NewSubject
from vault.vocabulary import Principal, Role

GUARDIAN = "Ibu Kartini Canary"
DOCUMENT = "3171015508809911"
GUARDIAN_PIN = "860431"


def _principal(world: World, who: str) -> Principal:
    user = world.services.identity.user_by_name(who)
    return Principal(user.id, Role(user.role), user.organization)


def _rows(world: World, sql: str, subject: uuid.UUID) -> list[tuple[object, ...]]:
    key = subject.hex if world.services.db.is_sqlite else subject
    with world.services.db.read_session() as session:
        return [tuple(row) for row in session.execute(text(sql), {"s": key}).all()]


def _needles(world: World, subject: uuid.UUID) -> dict[str, bytes]:
    """Every stored value of the subject an erasure must leave nowhere, as stored bytes."""
    needles: dict[str, bytes] = {}
    wrapped = "SELECT wrapped_dek FROM subject_keys WHERE subject_id = :s"
    for (blob,) in _rows(world, wrapped, subject):
        needles["wrapped key"] = bytes(blob)  # type: ignore[arg-type]  # a bytes column
    fields = _rows(
        world,
        "SELECT f.ciphertext FROM record_fields f JOIN records r ON r.id = f.record_id "
        "WHERE r.subject_id = :s",
        subject,
    )
    assert fields, "the subject has an identity record"
    for number, (blob,) in enumerate(fields):
        # 32 bytes of a ciphertext's body are enough to recognise it anywhere.
        needles[f"ciphertext {number}"] = bytes(blob)[-32:]  # type: ignore[arg-type]  # bytes
    consent = _rows(world, "SELECT receipt_jws FROM consents WHERE subject_id = :s", subject)
    assert consent
    needles["sealed receipt"] = str(consent[0][0])[-40:].encode()
    guardian = _rows(
        world,
        "SELECT sealed_identity, pin_hash FROM consent_guardians WHERE subject_id = :s",
        subject,
    )
    assert guardian
    needles["sealed guardian"] = bytes(guardian[0][0])[-32:]  # type: ignore[arg-type]  # bytes
    needles["guardian pin hash"] = str(guardian[0][1])[-32:].encode()
    subject_row = _rows(
        world, "SELECT nik_index, register_index, pin_hash FROM subjects WHERE id = :s", subject
    )
    nik, register, pin_hash = subject_row[0]
    needles["nik digest"] = str(nik).encode()
    needles["register digest"] = str(register).encode()
    needles["pin hash"] = str(pin_hash)[-32:].encode()
    return needles


def _sqlite_bytes(world: World) -> bytes:
    assert world.sqlite_path is not None
    data = world.sqlite_path.read_bytes()
    wal = world.sqlite_path.with_name(world.sqlite_path.name + "-wal")
    if wal.exists():
        data += wal.read_bytes()
    return data


def _postgres_bytes(world: World) -> bytes:
    """Every page of every touched table and of its indexes, through pageinspect."""
    chunks: list[bytes] = []
    with world.services.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        try:
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pageinspect")
        except Exception as error:  # noqa: BLE001  # any refusal means: not available here
            pytest.skip(f"pageinspect is not available: {error}")
        relations = conn.execute(
            text(
                "SELECT c.oid::regclass::text FROM pg_class c "
                "WHERE (c.relname = ANY(:tables) AND c.relnamespace = "
                "  to_regnamespace(current_schema())::oid) OR c.oid IN ("
                "  SELECT indexrelid FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid"
                "  WHERE t.relname = ANY(:tables)"
                "  AND t.relnamespace = to_regnamespace(current_schema())::oid) OR c.oid IN ("
                "  SELECT reltoastrelid FROM pg_class WHERE relname = ANY(:tables)"
                "  AND relnamespace = to_regnamespace(current_schema())::oid)"
            ),
            {"tables": list(TOUCHED_TABLES)},
        ).scalars()
        for relation in list(relations):
            blocks = conn.execute(
                text(
                    "SELECT pg_relation_size(CAST(:r AS regclass))"
                    " / current_setting('block_size')::int"
                ),
                {"r": relation},
            ).scalar_one()
            for block in range(int(blocks)):
                page = conn.execute(
                    text("SELECT get_raw_page(:r, :b)"), {"r": relation, "b": block}
                ).scalar_one()
                chunks.append(bytes(page))
    return b"".join(chunks)


def _stored_bytes(world: World) -> bytes:
    return _sqlite_bytes(world) if world.services.db.is_sqlite else _postgres_bytes(world)


def test_erasure_leaves_no_key_ciphertext_receipt_guardian_or_digest(world: World) -> None:
    """After an erasure, no byte string of the subject's key, fields, receipt, guardian,
    PIN hash or blind-index digests is left in the database's files or pages."""
    officer = _principal(world, "officer")
    child = world.services.subjects.register(
        officer,
        NewSubject(
            full_name="Andi (test)",
            nik="3171010303150003",
            register_number="AN 9/2026",
            date_of_birth=world.services.clock().date().replace(year=2015),
            organization=officer.organization,
        ),
    )
    choose_pin(world.services, child, SUBJECT_PIN)
    guardian_id = world.services.consents.enrol_guardian(
        _principal(world, "counselor"),
        child,
        GuardianIdentity(GUARDIAN, "mother", "ktp", DOCUMENT),
        checked_by=officer,
        pin=GUARDIAN_PIN,
        again=GUARDIAN_PIN,
        kiosk_session=None,
    )
    assert world.services.consents.guardian_identity(child, guardian_id).name == GUARDIAN
    world.services.consents.sign(
        officer,
        child,
        SignRequest(
            form_id="rehabilitation",
            form_version=1,
            language="id",
            granted_purposes=frozenset({"counseling"}),
            pin=SUBJECT_PIN,
            guardian=Guardian(GUARDIAN_PIN),
        ),
    )
    needles = _needles(world, child)
    before = _stored_bytes(world)
    # The guardian's identity is ciphertext under the child's key, never plaintext.
    assert GUARDIAN.encode() not in before
    assert DOCUMENT.encode() not in before
    # The search would find them before: it is a real search, not an empty file.
    assert [name for name, needle in needles.items() if needle not in before] == []

    approval, _ = world.services.subjects.approve_erasure(
        _principal(world, "compliance"), child, timedelta(hours=1)
    )
    world.services.subjects.erase(_principal(world, "admin"), child, approval)

    after = _stored_bytes(world)
    left = [name for name, needle in needles.items() if needle in after]
    if world.services.db.is_sqlite:
        assert left == []
    else:
        # PostgreSQL: the key, the receipt, the guardian and the digests are gone from
        # every page at once (their tables are rewritten); field ciphertexts, useless
        # without the key, stay in record_fields' free space until it is reused or the
        # table is rewritten in a maintenance window (docs/keys.md), and then they go.
        assert [name for name in left if not name.startswith("ciphertext")] == []
        with world.services.db.engine.connect().execution_options(
            isolation_level="AUTOCOMMIT"
        ) as conn:
            conn.exec_driver_sql("VACUUM (FULL) record_fields")
        after = _stored_bytes(world)
        assert [name for name, needle in needles.items() if needle in after] == []
    assert GUARDIAN.encode() not in after
    assert DOCUMENT.encode() not in after
    consent = _rows(world, "SELECT receipt_jws FROM consents WHERE subject_id = :s", child)
    assert consent == [(ERASED_RECEIPT,)]
    # Nothing opens the guardian's identity any more: neither the row nor the key is left.
    with pytest.raises(NotFound):
        world.services.consents.guardian_identity(child, guardian_id)


def test_a_busy_wal_checkpoint_is_retried_until_it_truncates(world: World) -> None:
    """A reader holding the WAL makes the checkpoint answer busy; the purge retries until
    the reader is gone and the WAL is truncated, and says False if it never is."""
    if not world.services.db.is_sqlite or world.sqlite_path is None:
        pytest.skip("the WAL is SQLite's")
    import sqlite3

    reader = sqlite3.connect(world.sqlite_path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM subjects").fetchall()
    with world.services.db.session() as session:
        session.execute(text("UPDATE subjects SET updated_at = updated_at"))
    # The reader never lets go: the purge gives up at its deadline and says so.
    gave_up = purge_freed_pages(world.services.db, deadline_seconds=0.05, sleep=lambda s: None)
    assert gave_up is False
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 3:
            reader.execute("COMMIT")

    # The reader lets go after three waits: the purge retried until it truncated.
    assert purge_freed_pages(world.services.db, sleep=sleep) is True
    assert len(waits) == 3
    wal = world.sqlite_path.with_name(world.sqlite_path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    reader.close()


def test_the_rewrite_waits_for_snapshots_older_than_the_shred(world: World) -> None:
    """An open snapshot from before the shred would make VACUUM FULL copy the old key along:
    the purge waits until it ends, and says False if it never does."""
    if world.services.db.is_sqlite:
        pytest.skip("snapshots and VACUUM FULL are PostgreSQL's")
    engine = world.services.db.engine.execution_options(isolation_level="REPEATABLE READ")
    with engine.connect() as reader:
        reader.exec_driver_sql("SELECT count(*) FROM subjects").scalar_one()  # a snapshot
        gave_up = purge_freed_pages(
            world.services.db, rewrite=["subject_keys"], deadline_seconds=0.05, sleep=lambda s: None
        )
        assert gave_up is False
        waits: list[float] = []

        def sleep(seconds: float) -> None:
            waits.append(seconds)
            if len(waits) == 3:
                reader.rollback()
            elif len(waits) > 3:
                time.sleep(seconds)  # another test's transaction: let it end for real

        # Other sessions of the server (another test's transaction) may add waits of
        # their own; what matters is that none ended before the reader let go.
        assert purge_freed_pages(world.services.db, rewrite=["subject_keys"], sleep=sleep) is True
        assert len(waits) >= 3
