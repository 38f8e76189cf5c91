"""Start-up: init creates the keyring once; the vault refuses a missing or wrong keyring."""

from __future__ import annotations

import shutil
import uuid

import pytest

from vault.bootstrap import initialise
from vault.config import Settings
from vault.crypto.providers.file import KEYRING_FILE
from vault.db import Database
from vault.errors import ConfigurationError
from vault.keys.wiring import ensure_provider, key_services


def _one_subject_key(settings: Settings) -> None:
    db = Database(settings.database_url)
    try:
        provider, _ = ensure_provider(settings, db)
        with db.session() as session:
            key_services(settings, provider).subject_keys.create(session, uuid.uuid4())
    finally:
        db.dispose()


def test_init_creates_a_0600_keyring_and_signing_key_once(settings: Settings) -> None:
    """init creates the keyring (0600) and reports the signing key; a second init keeps both."""
    first = initialise(settings)
    path = settings.keys_dir / KEYRING_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    assert any(line.startswith("keyring created") for line in first)
    kid = [line for line in first if "signing key" in line]
    before = path.read_bytes()
    second = initialise(settings)
    assert not any(line.startswith("keyring created") for line in second)
    assert [line for line in second if "signing key" in line] == kid
    assert path.read_bytes() == before


def test_missing_keyring_with_wrapped_keys_refuses_to_start(settings: Settings) -> None:
    """With DEKs stored and no keyring, init refuses, names VAULT_KEYS_DIR, creates nothing."""
    initialise(settings)
    _one_subject_key(settings)
    shutil.rmtree(settings.keys_dir)
    with pytest.raises(ConfigurationError, match="VAULT_KEYS_DIR") as caught:
        initialise(settings)
    assert "1 wrapped data keys" in caught.value.detail
    assert not (settings.keys_dir / KEYRING_FILE).exists()


def test_keyring_lacking_a_used_version_refuses_to_start(settings: Settings) -> None:
    """A keyring that does not hold a version the store uses is named as the wrong keyring."""
    initialise(settings)
    _one_subject_key(settings)
    from vault.crypto.providers.file import FileKeyProvider

    provider = FileKeyProvider(settings.keys_dir)
    provider.new_version()
    # Pretend the database moved on to version 2 while this keyring stayed behind.
    db = Database(settings.database_url)
    with db.session() as session:
        from sqlalchemy import text

        session.execute(text("UPDATE subject_keys SET kek_version = 3"))
    db.dispose()
    with pytest.raises(ConfigurationError, match=r"versions \[3\].*wrong keyring"):
        initialise(settings)


def test_build_services_wires_the_key_services(settings: Settings) -> None:
    """build_services exposes keys, subject_keys, blind_index and signer from the keyring."""
    from vault.services import build_services

    services = build_services(settings, migrate=True)
    try:
        assert services.keys.current_version() == 1
        assert len(services.blind_index.digest("nik", "3171 0123 4567 8901")) == 64
        assert services.signer.public_jwk()["kid"] == services.signer.key_id
        with services.db.session() as session:
            dek = services.subject_keys.create(session, subject := uuid.uuid4())
        with services.db.read_session() as session:
            assert services.subject_keys.data_key(session, subject) == dek
    finally:
        services.close()
