"""Crypto-shredding: a shredded subject's fields stay unreadable, also from a backup."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import pytest
from keys_support import KeyEnv, canary_binding, encrypt_canary
from sqlalchemy import text

from vault.crypto.fields import FieldCipher
from vault.crypto.keys import WrappedKey
from vault.crypto.providers.file import FileKeyProvider
from vault.db import Database
from vault.errors import DecryptionFailed, KeyUnavailable, NotFound
from vault.keys.rotation import rotate_keks
from vault.keys.service import DekCache, SubjectKeys, purge_freed_pages

CANARY = b"CANARY-HIV-POSITIVE-7f3a"

SUBJECT = uuid.UUID("00000000-0000-4000-8000-000000000001")


def _backup_row(env: KeyEnv, subject: uuid.UUID) -> WrappedKey:
    with env.db.read_session() as session:
        version, blob = session.execute(
            text("SELECT kek_version, wrapped_dek FROM subject_keys WHERE subject_id = :s"),
            {"s": subject.hex if env.db.is_sqlite else subject},
        ).one()
    return WrappedKey(int(version), bytes(blob))


def test_backup_is_unreadable_once_the_old_version_is_retired(env: KeyEnv) -> None:
    """A backup copy of the wrapped key decrypts nothing after shred, rotate and retire."""
    subject, record, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    with env.db.session() as session:
        dek = env.keys.subject_keys.create(session, subject)
        env.keys.subject_keys.create(session, other)
    ciphertext = encrypt_canary(dek, subject, record, CANARY)
    backup = _backup_row(env, subject)  # the "backup", taken before erasure

    with env.db.session() as session:
        env.keys.subject_keys.shred(session, subject)
    # Until its KEK version is destroyed, a backup's wrapped key still opens: the
    # erasure runbook therefore rotates and retires (README.md, "Erasure (crypto-shredding)").
    assert env.keys.keys.unwrap(backup, subject) == dek
    rotate_keks(env.db, env.keys.keys)
    env.keys.keys.retire(backup.kek_version)

    restored = FileKeyProvider(env.settings.keys_dir)
    with pytest.raises(KeyUnavailable):
        restored.unwrap(backup, subject)
    # Nothing else that survives decrypts the canary: not the other subject's key.
    with env.db.read_session() as session:
        survivor = SubjectKeys(restored, DekCache(0, 0)).data_key(session, other)
        with pytest.raises(NotFound):
            SubjectKeys(restored, DekCache(0, 0)).data_key(session, subject)
    with pytest.raises(DecryptionFailed):
        FieldCipher(survivor).decrypt(ciphertext, canary_binding(subject, record))


def test_sqlite_backup_file_after_shred_and_retire(settings_sqlite: KeyEnv, tmp_path: Path) -> None:
    """A file copy of the SQLite store made before erasure yields no key for the subject."""
    env = settings_sqlite
    subject = uuid.uuid4()
    with env.db.session() as session:
        env.keys.subject_keys.create(session, subject)
    source = env.settings.database_url.removeprefix("sqlite:///")
    backup_path = tmp_path / "backup.db"
    with sqlite3.connect(source) as live, sqlite3.connect(backup_path) as copy:
        live.backup(copy)
    with env.db.session() as session:
        env.keys.subject_keys.shred(session, subject)
    rotate_keks(env.db, env.keys.keys)
    env.keys.keys.retire(1)

    backup_db = Database(f"sqlite:///{backup_path}")
    try:
        service = SubjectKeys(FileKeyProvider(env.settings.keys_dir), DekCache(0, 0))
        with pytest.raises(KeyUnavailable), backup_db.read_session() as session:
            service.data_key(session, subject)
    finally:
        backup_db.dispose()


def test_shredded_wrapped_key_is_nowhere_in_the_sqlite_files(settings_sqlite: KeyEnv) -> None:
    """After shred and a checkpoint, the wrapped key's bytes are in neither the db nor the WAL."""
    env = settings_sqlite
    subject = uuid.uuid4()
    with env.db.session() as session:
        dek = env.keys.subject_keys.create(session, subject)
    blob = _backup_row(env, subject).blob
    purge_freed_pages(env.db)
    path = Path(env.settings.database_url.removeprefix("sqlite:///"))
    assert blob in path.read_bytes()  # the check below can fail
    with env.db.session() as session:
        env.keys.subject_keys.shred(session, subject)
    purge_freed_pages(env.db)
    for file in (path, path.with_name(path.name + "-wal")):
        if file.exists():
            data = file.read_bytes()
            assert blob not in data
            assert dek.material not in data
