"""Wrapped DEKs bound to subject and KEK version; pins that keep the provider honest."""

from __future__ import annotations

import json
import threading
import time
import uuid

import pytest
from keys_support import KeyEnv
from sqlalchemy import text

from vault.crypto.keys import LEGACY_WRAP_BYTES, WRAP_GCM, DataKey, WrappedKey, wrap_format
from vault.crypto.providers.file import FileKeyProvider
from vault.errors import ConfigurationError, Conflict, KeyUnavailable
from vault.keys.rotation import plan_rotation, retire_kek, rotate_keks
from vault.keys.wiring import ensure_provider


def _row(env: KeyEnv, subject: uuid.UUID) -> tuple[int, bytes]:
    with env.db.read_session() as session:
        version, blob = session.execute(
            text("SELECT kek_version, wrapped_dek FROM subject_keys WHERE subject_id = :s"),
            {"s": subject.hex if env.db.is_sqlite else subject},
        ).one()
    return int(version), bytes(blob)


def _set_row(env: KeyEnv, subject: uuid.UUID, version: int, blob: bytes) -> None:
    with env.db.session() as session:
        session.execute(
            text(
                "UPDATE subject_keys SET kek_version = :v, wrapped_dek = :b WHERE subject_id = :s"
            ),
            {"v": version, "b": blob, "s": subject.hex if env.db.is_sqlite else subject},
        )


def test_swapped_wrapped_key_rows_refuse_to_unwrap(env: KeyEnv) -> None:
    """Swapping two subjects' wrapped-key rows makes both unwraps fail opaquely (no cross-use)."""
    a, b = uuid.uuid4(), uuid.uuid4()
    with env.db.session() as session:
        env.keys.subject_keys.create(session, a)
        env.keys.subject_keys.create(session, b)
    row_a, row_b = _row(env, a), _row(env, b)
    assert wrap_format(row_a[1]) == WRAP_GCM
    _set_row(env, a, *row_b)
    _set_row(env, b, *row_a)
    env.keys.subject_keys.cache.clear()
    for subject in (a, b):
        with env.db.read_session() as session, pytest.raises(KeyUnavailable) as caught:
            env.keys.subject_keys.data_key(session, subject)
        assert str(caught.value) == "A key needed for this operation is not available."


def test_wrapped_key_under_another_version_number_is_refused(env: KeyEnv) -> None:
    """A row whose KEK version number is changed (to one that exists) does not unwrap."""
    subject = uuid.uuid4()
    with env.db.session() as session:
        dek = env.keys.subject_keys.create(session, subject)
    provider = env.keys.keys
    v2 = plan_rotation(env.db, provider).target_version
    wrapped = provider.wrap(dek, subject, v2)
    with pytest.raises(KeyUnavailable):
        provider.unwrap(WrappedKey(1, wrapped.blob), subject)


def _old_keyring(env: KeyEnv) -> None:
    """Turn the keyring into one written before binding (no bound_since, signing, derivation)."""
    path = env.settings.keys_dir / "keyring.json"
    contents = json.loads(path.read_text())
    for member in ("bound_since", "signing", "derivation"):
        contents.pop(member)
    path.write_text(json.dumps(contents))


def _legacy_blob(env: KeyEnv, dek: DataKey) -> bytes:
    from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding

    contents = json.loads((env.settings.keys_dir / "keyring.json").read_text())
    import base64

    kek = base64.b64decode(contents["keks"]["1"])
    return aes_key_wrap_with_padding(kek, dek.material)


def test_legacy_rows_are_read_then_rewrapped_bound_and_never_accepted_again(
    settings_sqlite: KeyEnv,
) -> None:
    """Unbound rows of old releases unwrap, `rotate` rewraps them bound, and an old unbound
    copy is refused under the new version (no downgrade)."""
    env = settings_sqlite
    _old_keyring(env)
    provider = FileKeyProvider(env.settings.keys_dir)
    subject, dek = uuid.uuid4(), DataKey.generate()
    legacy = _legacy_blob(env, dek)
    assert len(legacy) == LEGACY_WRAP_BYTES
    with env.db.session() as session:
        session.execute(
            text(
                "INSERT INTO subject_keys (id, subject_id, kek_version, wrapped_dek, created_at, "
                "updated_at) VALUES (:i, :s, 1, :b, '2025-01-01 00:00:00', '2025-01-01 00:00:00')"
            ),
            {"i": uuid.uuid4().hex, "s": subject.hex, "b": legacy},
        )
    assert provider.unwrap(WrappedKey(1, legacy), subject) == dek
    plan = plan_rotation(env.db, provider)  # the legacy row is pending: resume, no new version
    assert (plan.new_version, plan.pending) == (False, 1)
    rotate_keks(env.db, provider, plan=plan)
    version, blob = _row(env, subject)
    assert (version, wrap_format(blob)) == (1, WRAP_GCM)
    assert provider.unwrap(WrappedKey(version, blob), subject) == dek
    plan = plan_rotation(env.db, provider)
    rotate_keks(env.db, provider, plan=plan)
    with pytest.raises(KeyUnavailable):
        provider.unwrap(WrappedKey(plan.target_version, legacy), subject)


def test_planted_kek_version_refuses_start(env: KeyEnv) -> None:
    """A KEK version added to the provider outside `vault keys rotate` never becomes current."""
    FileKeyProvider(env.settings.keys_dir).new_version()
    with pytest.raises(ConfigurationError, match="pinned version 1"):
        ensure_provider(env.settings, env.db)


def test_interrupted_rotation_is_adopted_at_start(env: KeyEnv) -> None:
    """A version made by `rotate` that crashed before pinning it is recognised, not refused."""
    from vault.keys.pins import KEK_ROTATING, set_pin

    with env.db.session() as session:
        set_pin(session, KEK_ROTATING, "1")
    FileKeyProvider(env.settings.keys_dir).new_version()
    provider, _ = ensure_provider(env.settings, env.db)
    provider.close()
    with env.db.session() as session:
        assert env.keys.subject_keys.wrap_version(session) == 2


def test_another_provider_under_existing_data_refuses_start(env: KeyEnv, tmp_path: object) -> None:
    """A fresh keyring in place of the one the store was pinned to is refused at start."""
    with env.db.session() as session:
        env.keys.subject_keys.create(session, uuid.uuid4())
    (env.settings.keys_dir / "keyring.json").rename(env.settings.keys_dir / "old.json")
    other = env.settings.model_copy(update={"keys_dir": env.settings.keys_dir.parent / "k2"})
    FileKeyProvider.create(other.keys_dir)
    with pytest.raises(ConfigurationError, match="provider changed"):
        ensure_provider(other, env.db)


def test_retire_waits_for_an_uncommitted_wrap_and_then_refuses(env: KeyEnv) -> None:
    """A DEK being written under the old version while `retire` runs is seen, not destroyed."""
    provider = env.keys.keys
    plan = plan_rotation(env.db, provider)
    rotate_keks(env.db, provider, plan=plan)
    subject = uuid.uuid4()
    outcome: list[BaseException | None] = []

    def retire() -> None:
        try:
            retire_kek(env.db, provider, 1)
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001
            outcome.append(exc)

    with env.db.session() as session:
        # A process that still wraps under version 1 (its view from before the rotation).
        dek = DataKey.generate()
        wrapped = provider.wrap(dek, subject, 1)
        session.execute(
            text(
                "INSERT INTO subject_keys (id, subject_id, kek_version, wrapped_dek, created_at, "
                "updated_at) VALUES (:i, :s, 1, :b, '2025-01-01 00:00:00', '2025-01-01 00:00:00')"
            ),
            {
                "i": uuid.uuid4().hex if env.db.is_sqlite else uuid.uuid4(),
                "s": subject.hex if env.db.is_sqlite else subject,
                "b": wrapped.blob,
            },
        )
        worker = threading.Thread(target=retire)
        worker.start()
        time.sleep(0.5)
        assert not outcome  # retire waits for this transaction
    worker.join(30)
    assert isinstance(outcome[0], Conflict)
    assert 1 in provider.versions()
    assert provider.unwrap(wrapped, subject) == dek
