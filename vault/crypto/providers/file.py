"""The ``file`` key provider: a keyring file in ``VAULT_KEYS_DIR``.

``keyring.json`` (mode 0600, refused if group or others may read it) holds
the KEK versions, the signing key versions (seeds and states) and a root
secret. Unsealed, it is that JSON. Sealed with a
passphrase, it is an envelope: the keyring JSON encrypted with AES-256-GCM
under a key derived from the passphrase with argon2id (parameters and salt
stored beside it, and bound as associated data)::

    {"format": "vault-keyring/v1", "sealed": true,
     "kdf": {"name": "argon2id", "salt": "<b64>", "iterations": 3,
             "memory_kib": 65536, "lanes": 4},
     "nonce": "<b64>", "ciphertext": "<b64>"}

Other processes (``vault keys rotate``) may change the file while the service
runs; the provider notices (file identity and mtime) and reloads, so a DEK
rewrapped under a newer version still unwraps. Writers take an exclusive lock
and replace the file atomically.
"""

from __future__ import annotations

import binascii
import contextlib
import os
import stat
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import (
    InvalidUnwrap,
    aes_key_unwrap_with_padding,
)

from vault.crypto.keys import (
    WRAP_GCM,
    WRAP_LEGACY,
    DataKey,
    WrappedKey,
    wrap_binding,
)
from vault.crypto.providers.base import (
    FINGERPRINT_LABEL,
    SIGNING_SEED_LABEL,
    SigningRegistryChange,
    fingerprint_of,
    unavailable,
)
from vault.crypto.providers.keyring_file import (
    CHEAP_ARGON2,
    DERIVATION_HMAC,
    DERIVATION_LEGACY,
    FORMAT,
    KEYRING_FILE,
    Argon2Params,
    Seal,
    decode_b64,
    decode_keyring,
    encode_b64,
    encode_keyring,
    exclusive_lock,
    new_seal,
    write_atomic,
)
from vault.crypto.signing import Signer, SigningState, b64url, public_from_seed
from vault.crypto.signing_keys import SigningKeyRecord, SigningRegistry
from vault.errors import ConfigurationError, KeyUnavailable

__all__ = ["CHEAP_ARGON2", "KEYRING_FILE", "Argon2Params", "FileKeyProvider"]


class FileKeyProvider:
    """KEKs in a local keyring file; AES key wrap with padding (RFC 5649)."""

    name = "file"

    def __init__(self, keys_dir: Path, passphrase: str | None = None) -> None:
        """Open an existing keyring; ``ConfigurationError`` if it is missing or unusable."""
        self.keys_dir = keys_dir
        self.path = keys_dir / KEYRING_FILE
        self._passphrase = passphrase
        self._lock = threading.RLock()
        self._seal: Seal | None = None
        self._keks: dict[int, bytes] = {}
        self._current = 0
        self._root = b""
        self._retired: list[int] = []
        self._derivation = DERIVATION_HMAC
        self._bound_since = 1
        self._signing: SigningRegistry | None = None
        self._seeds: dict[int, bytes] = {}
        self._identity: tuple[int, int, int] | None = None
        self._load()

    def __repr__(self) -> str:
        return f"FileKeyProvider(path={str(self.path)!r})"

    def __reduce__(self) -> Any:
        raise TypeError("a key provider cannot be pickled")

    # -- creation --------------------------------------------------------------------

    @staticmethod
    def exists(keys_dir: Path) -> bool:
        return (keys_dir / KEYRING_FILE).exists()

    @classmethod
    def create(
        cls,
        keys_dir: Path,
        passphrase: str | None = None,
        argon2: Argon2Params | None = None,
    ) -> FileKeyProvider:
        """Write a new keyring (KEK version 1 and a root secret); refuse if one exists."""
        keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = keys_dir / KEYRING_FILE
        with exclusive_lock(keys_dir):
            if path.exists():
                raise ConfigurationError(f"a keyring already exists at {path}")
            seed = os.urandom(32)
            first = SigningKeyRecord(
                1, b64url(public_from_seed(seed)), SigningState.CURRENT, datetime.now(UTC)
            )
            contents = {
                "format": FORMAT,
                "current": 1,
                "keks": {"1": encode_b64(os.urandom(32))},
                "retired": [],
                "root": encode_b64(os.urandom(32)),
                "derivation": DERIVATION_HMAC,
                "bound_since": 1,
                "signing": [{**first.to_json(), "seed": encode_b64(seed)}],
            }
            seal = new_seal(passphrase, argon2 or Argon2Params()) if passphrase else None
            write_atomic(path, encode_keyring(contents, seal))
        return cls(keys_dir, passphrase)

    # -- loading ---------------------------------------------------------------------

    def _file_identity(self) -> tuple[int, int, int] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _load(self) -> None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            raise ConfigurationError(
                f"no keyring at {self.path} (VAULT_KEYS_DIR); run `vault init` to create one"
            ) from None
        mode = stat.S_IMODE(st.st_mode)
        if mode & 0o077:
            raise ConfigurationError(
                f"the keyring {self.path} may be read by others (mode {mode:o}); "
                f"run `chmod 600 {self.path}`"
            )
        raw = self.path.read_bytes()
        contents = self._decode(raw)
        try:
            keks = {int(v): decode_b64(k) for v, k in contents["keks"].items()}
            current = int(contents["current"])
            root = decode_b64(contents["root"])
            retired = [int(v) for v in contents.get("retired", [])]
            # Keyrings from before these fields: the old derivation; KEK versions that
            # exist may hold unbound (legacy) wraps, versions made from now on never do.
            derivation = str(contents.get("derivation", DERIVATION_LEGACY))
            bound_since = int(contents.get("bound_since", max([*keks, *retired]) + 1))
            signing_items = contents.get("signing")
        except (KeyError, TypeError, ValueError, binascii.Error):
            raise ConfigurationError(f"the keyring {self.path} is damaged") from None
        if (
            current not in keks
            or any(len(k) != 32 for k in keks.values())
            or len(root) != 32
            or derivation not in (DERIVATION_HMAC, DERIVATION_LEGACY)
        ):
            raise ConfigurationError(f"the keyring {self.path} is damaged")
        self._keks, self._current, self._root, self._retired = keks, current, root, retired
        self._derivation, self._bound_since = derivation, bound_since
        try:
            if signing_items is None:
                # Version 1 of the signing key was derived from the root.
                seed = self.derive_secret(SIGNING_SEED_LABEL)
                record = SigningKeyRecord(
                    1,
                    b64url(public_from_seed(seed)),
                    SigningState.CURRENT,
                    datetime.fromtimestamp(st.st_mtime, UTC),
                )
                self._signing, self._seeds = SigningRegistry([record]), {1: seed}
            else:
                records = [SigningKeyRecord.from_json(item) for item in signing_items]
                seeds = {
                    int(item["version"]): decode_b64(item["seed"])
                    for item in signing_items
                    if item.get("seed") is not None
                }
                registry = SigningRegistry(records)
                for record in records:
                    held = seeds.get(record.version)
                    if held is not None and b64url(public_from_seed(held)) != record.x:
                        raise ValueError("a signing seed does not match its public key")
                self._signing, self._seeds = registry, seeds
        except (KeyError, TypeError, ValueError, binascii.Error):
            raise ConfigurationError(f"the keyring {self.path} is damaged") from None
        self._identity = (st.st_ino, st.st_mtime_ns, st.st_size)

    def _decode(self, raw: bytes) -> dict[str, Any]:
        contents, self._seal = decode_keyring(raw, self.path, self._passphrase)
        return contents

    def _refresh(self) -> None:
        """Reload if another process replaced the keyring file."""
        if self._file_identity() != self._identity:
            self._load()

    @contextlib.contextmanager
    def _editing(self) -> Iterator[None]:
        with self._lock, exclusive_lock(self.keys_dir):
            self._load()
            yield
            signing = []
            for record in self._held_registry().records:
                item = record.to_json()
                seed = self._seeds.get(record.version)
                # A revoked key's seed is destroyed: it must never sign again.
                item["seed"] = (
                    encode_b64(seed)
                    if seed is not None and record.state is not SigningState.REVOKED
                    else None
                )
                signing.append(item)
            contents = {
                "format": FORMAT,
                "current": self._current,
                "keks": {str(v): encode_b64(k) for v, k in sorted(self._keks.items())},
                "retired": sorted(self._retired),
                "root": encode_b64(self._root),
                "derivation": self._derivation,
                "bound_since": self._bound_since,
                "signing": signing,
            }
            write_atomic(self.path, encode_keyring(contents, self._seal))
            self._identity = self._file_identity()

    # -- the protocol ----------------------------------------------------------------

    def current_version(self) -> int:
        with self._lock:
            self._refresh()
            return self._current

    def versions(self) -> list[int]:
        with self._lock:
            self._refresh()
            return sorted(self._keks)

    def wrap(self, dek: DataKey, subject_id: uuid.UUID, version: int | None = None) -> WrappedKey:
        with self._lock:
            self._refresh()
            version = self._current if version is None else version
            kek = self._keks.get(version)
        if kek is None:
            raise unavailable(f"KEK version {version} is not in the keyring {self.path}")
        nonce = os.urandom(12)
        sealed = AESGCM(kek).encrypt(
            nonce, dek.material, wrap_binding(subject_id, version, WRAP_GCM)
        )
        return WrappedKey(version, bytes([WRAP_GCM]) + nonce + sealed)

    def unwrap(self, wrapped: WrappedKey, subject_id: uuid.UUID) -> DataKey:
        version = wrapped.kek_version
        kek = self._keks.get(version)
        if kek is None:
            with self._lock:
                self._refresh()
                kek = self._keks.get(version)
        if kek is None:
            state = "was retired" if version in self._retired else "is not"
            raise unavailable(
                f"KEK version {version} {state} in the keyring {self.path}; "
                f"it holds versions {sorted(self._keks)}"
            )
        fmt = wrapped.format
        try:
            if fmt == WRAP_GCM:
                blob = wrapped.blob
                material = AESGCM(kek).decrypt(
                    blob[1:13], blob[13:], wrap_binding(subject_id, version, WRAP_GCM)
                )
            elif fmt == WRAP_LEGACY and version < self._bound_since:
                material = aes_key_unwrap_with_padding(kek, wrapped.blob)
            else:
                raise ValueError("unknown or downgraded wrap format")
            return DataKey(material)
        except (InvalidTag, InvalidUnwrap, ValueError):
            raise unavailable(
                f"a data key does not unwrap under KEK version {version} of {self.path}: "
                "the keyring does not belong to this database, or the row was altered or moved"
            ) from None

    def new_version(self) -> int:
        with self._editing():
            version = max([*self._keks, *self._retired]) + 1
            self._bound_since = min(self._bound_since, version)
            self._keks[version] = os.urandom(32)
            self._current = version
        return version

    def retire(self, version: int) -> None:
        with self._editing():
            if version == self._current:
                raise ConfigurationError(f"KEK version {version} is current; rotate first")
            if version not in self._keks:
                raise KeyUnavailable(f"KEK version {version} is not in the keyring")
            del self._keks[version]
            self._retired.append(version)

    def derive_secret(self, label: bytes) -> bytes:
        if self._derivation == DERIVATION_LEGACY:
            return HKDF(hashes.SHA256(), 32, None, b"vault/root/v1/" + label).derive(self._root)
        mac = crypto_hmac.HMAC(self._root, hashes.SHA256())
        mac.update(label)
        return mac.finalize()

    @property
    def derivation(self) -> str:
        """``hmac-sha256`` (every keyring made now) or ``hkdf-sha256/v1`` (older ones)."""
        return self._derivation

    def fingerprint(self) -> str:
        return fingerprint_of(self.name, self.derive_secret(FINGERPRINT_LABEL))

    # -- signing keys ----------------------------------------------------------------

    def _held_registry(self) -> SigningRegistry:
        """The loaded signing registry; every successful load sets one."""
        if self._signing is None:
            raise unavailable(f"the keyring {self.path} has no signing registry loaded")
        return self._signing

    def signing_registry(self) -> SigningRegistry:
        with self._lock:
            self._refresh()
            return self._held_registry()

    def signer_for(self, version: int) -> Signer:
        with self._lock:
            self._refresh()
            seed = self._seeds.get(version)
            registry = self._signing
        if seed is None or registry is None:
            raise unavailable(f"signing key version {version} is not in the keyring {self.path}")
        signer = Signer(seed)

        def sign(data: bytes) -> bytes:
            # Signs only while it is still the current key (another process may
            # have rotated, retired or revoked it since).
            if self.signing_registry().current.version != version:
                raise unavailable(f"signing key version {version} is no longer current")
            return signer.sign(data)

        return Signer.external(public_from_seed(seed), sign)

    def new_signing_key(self, now: datetime) -> SigningRegistry:
        with self._editing():
            held = self._held_registry()
            seed = os.urandom(32)
            version = held.next_version()
            self._signing = held.rotated(version, public_from_seed(seed), now)
            self._seeds[version] = seed
            registry = self._signing
        return registry

    def set_signing_registry(self, change: SigningRegistryChange) -> SigningRegistry:
        with self._editing():
            self._signing = change(self._held_registry())
            for record in self._signing.records:
                if record.state is SigningState.REVOKED:
                    self._seeds.pop(record.version, None)
            registry = self._signing
        return registry

    def close(self) -> None:
        """Nothing to release; key bytes go with the object."""
