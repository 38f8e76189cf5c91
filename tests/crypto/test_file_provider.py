"""The file key provider: keyring mode, sealing, versions, and reloading."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest

from vault.crypto.keys import DataKey
from vault.crypto.providers.base import KeyProvider
from vault.crypto.providers.file import CHEAP_ARGON2, KEYRING_FILE, FileKeyProvider
from vault.errors import ConfigurationError, KeyUnavailable

SUBJECT = uuid.UUID("00000000-0000-4000-8000-000000000001")


def test_created_keyring_is_0600_and_wraps(tmp_path: Path) -> None:
    """A new keyring is mode 0600, version 1, and round-trips a data key."""
    provider = FileKeyProvider.create(tmp_path / "keys")
    assert isinstance(provider, KeyProvider)
    assert (tmp_path / "keys" / KEYRING_FILE).stat().st_mode & 0o777 == 0o600
    assert provider.versions() == [1]
    assert provider.current_version() == 1
    dek = DataKey.generate()
    wrapped = provider.wrap(dek, SUBJECT)
    assert wrapped.kek_version == 1
    assert dek.material not in wrapped.blob
    assert provider.unwrap(wrapped, SUBJECT) == dek


def test_create_refuses_to_overwrite(tmp_path: Path) -> None:
    """Creating a keyring where one exists is refused (it would orphan every DEK)."""
    FileKeyProvider.create(tmp_path)
    with pytest.raises(ConfigurationError, match="already exists"):
        FileKeyProvider.create(tmp_path)


def test_readable_by_others_is_refused(tmp_path: Path) -> None:
    """A keyring that group or others may read stops the provider, naming chmod 600."""
    FileKeyProvider.create(tmp_path)
    os.chmod(tmp_path / KEYRING_FILE, 0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        FileKeyProvider(tmp_path)


def test_missing_keyring_names_vault_keys_dir(tmp_path: Path) -> None:
    """Opening a missing keyring says where it looked and how to create one."""
    with pytest.raises(ConfigurationError, match="VAULT_KEYS_DIR"):
        FileKeyProvider(tmp_path)


def test_sealed_keyring_needs_the_right_passphrase(tmp_path: Path) -> None:
    """A sealed keyring holds no key in clear and opens only with its passphrase."""
    provider = FileKeyProvider.create(tmp_path, "correct horse", CHEAP_ARGON2)
    wrapped = provider.wrap(dek := DataKey.generate(), SUBJECT)
    on_disk = json.loads((tmp_path / KEYRING_FILE).read_text())
    assert on_disk["sealed"] is True
    assert "keks" not in on_disk
    assert "root" not in on_disk
    assert FileKeyProvider(tmp_path, "correct horse").unwrap(wrapped, SUBJECT) == dek
    with pytest.raises(ConfigurationError, match="does not open"):
        FileKeyProvider(tmp_path, "wrong horse")
    with pytest.raises(ConfigurationError, match="VAULT_KEYRING_PASSPHRASE"):
        FileKeyProvider(tmp_path)


def test_altered_sealed_keyring_is_refused(tmp_path: Path) -> None:
    """Changing the argon2 parameters of a sealed keyring (bound as AAD) makes it fail."""
    FileKeyProvider.create(tmp_path, "pw", CHEAP_ARGON2)
    path = tmp_path / KEYRING_FILE
    document = json.loads(path.read_text())
    document["kdf"]["iterations"] = 2
    path.write_text(json.dumps(document))
    with pytest.raises(ConfigurationError, match="does not open"):
        FileKeyProvider(tmp_path, "pw")


def test_unsealed_keyring_with_a_passphrase_is_refused(tmp_path: Path) -> None:
    """Setting a passphrase on an unsealed keyring is an error, not silently ignored."""
    FileKeyProvider.create(tmp_path)
    with pytest.raises(ConfigurationError, match="not sealed"):
        FileKeyProvider(tmp_path, "pw")


def test_new_version_keeps_old_versions_unwrapping(tmp_path: Path) -> None:
    """After a new version, old wraps still unwrap and new wraps use the new version."""
    provider = FileKeyProvider.create(tmp_path, "pw", CHEAP_ARGON2)
    old = provider.wrap(dek := DataKey.generate(), SUBJECT)
    assert provider.new_version() == 2
    assert provider.current_version() == 2
    assert provider.wrap(dek, SUBJECT).kek_version == 2
    assert provider.unwrap(old, SUBJECT) == dek
    assert FileKeyProvider(tmp_path, "pw").versions() == [1, 2]


def test_retired_version_is_gone_with_a_clear_message(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A retired version no longer unwraps (the log names it, the error does not); the current
    one cannot retire."""
    provider = FileKeyProvider.create(tmp_path)
    old = provider.wrap(DataKey.generate(), SUBJECT)
    provider.new_version()
    with pytest.raises(ConfigurationError, match="current"):
        provider.retire(2)
    provider.retire(1)
    assert provider.versions() == [2]
    with pytest.raises(KeyUnavailable) as caught:
        provider.unwrap(old, SUBJECT)
    assert "version 1 was retired" in caplog.text
    assert "version" not in str(caught.value)
    assert str(tmp_path) not in str(caught.value)
    assert provider.new_version() == 3  # a retired number is never reused


def test_another_process_rotation_is_picked_up(tmp_path: Path) -> None:
    """A provider opened before another one adds a version unwraps and wraps under it."""
    server = FileKeyProvider.create(tmp_path)
    operator = FileKeyProvider(tmp_path)
    operator.new_version()
    newer = operator.wrap(dek := DataKey.generate(), SUBJECT)
    assert server.unwrap(newer, SUBJECT) == dek
    assert server.wrap(dek, SUBJECT).kek_version == 2


def test_wrong_keyring_gives_an_operator_message(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A DEK wrapped by another keyring's version 1 fails opaquely; the log names the version."""
    mine = FileKeyProvider.create(tmp_path / "a")
    theirs = FileKeyProvider.create(tmp_path / "b")
    with pytest.raises(KeyUnavailable) as caught:
        mine.unwrap(theirs.wrap(DataKey.generate(), SUBJECT), SUBJECT)
    assert "does not belong" in caplog.text
    assert "version 1" in caplog.text
    assert "version" not in str(caught.value)


def test_derived_secrets_are_per_label_and_stable(tmp_path: Path) -> None:
    """Derived secrets differ per label and survive reopening and KEK rotation."""
    provider = FileKeyProvider.create(tmp_path)
    a = provider.derive_secret(b"a")
    assert a != provider.derive_secret(b"b")
    provider.new_version()
    assert FileKeyProvider(tmp_path).derive_secret(b"a") == a


def test_repr_names_the_path_only(tmp_path: Path) -> None:
    """The provider's repr shows where the keyring is, not what is in it."""
    provider = FileKeyProvider.create(tmp_path)
    contents = json.loads((tmp_path / KEYRING_FILE).read_text())
    assert contents["root"] not in repr(provider)
    assert "keyring.json" in repr(provider)
