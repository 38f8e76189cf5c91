"""The keyring file's format, sealing and locking, for the ``file`` key provider.

The file is JSON; sealed with a passphrase it is an AES-256-GCM envelope under
an argon2id-derived key (see :mod:`vault.crypto.providers.file`). Writers take
an exclusive lock and replace the file atomically.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from vault.errors import ConfigurationError

KEYRING_FILE = "keyring.json"
LOCK_FILE = ".keyring.lock"
FORMAT = "vault-keyring/v1"
_SEAL_AAD = b"vault-keyring/v1/sealed"
DERIVATION_HMAC = "hmac-sha256"
DERIVATION_LEGACY = "hkdf-sha256/v1"


@dataclass(frozen=True)
class Argon2Params:
    """argon2id parameters for sealing the keyring (RFC 9106 low-memory by default)."""

    iterations: int = 3
    memory_kib: int = 65536
    lanes: int = 4


CHEAP_ARGON2 = Argon2Params(iterations=1, memory_kib=64, lanes=1)


def encode_b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def decode_b64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise ValueError("expected base64 text")
    return base64.b64decode(text.encode("ascii"), validate=True)


def derive_seal_key(passphrase: str, salt: bytes, params: Argon2Params) -> bytes:
    return Argon2id(
        salt=salt,
        length=32,
        iterations=params.iterations,
        lanes=params.lanes,
        memory_cost=params.memory_kib,
    ).derive(passphrase.encode("utf-8"))


@dataclass
class Seal:
    key: bytes
    kdf: dict[str, Any]


def new_seal(passphrase: str, params: Argon2Params) -> Seal:
    """A fresh salt and the key ``passphrase`` derives with it."""
    salt = os.urandom(16)
    kdf = {
        "name": "argon2id",
        "salt": encode_b64(salt),
        "iterations": params.iterations,
        "memory_kib": params.memory_kib,
        "lanes": params.lanes,
    }
    return Seal(derive_seal_key(passphrase, salt, params), kdf)


def decode_keyring(
    raw: bytes, path: Path, passphrase: str | None
) -> tuple[dict[str, Any], Seal | None]:
    """The keyring's contents and, if it is sealed, the seal that reopens it."""
    try:
        outer = json.loads(raw)
        if not isinstance(outer, dict) or outer.get("format") != FORMAT:
            raise ValueError("not a keyring")
    except ValueError:
        raise ConfigurationError(f"{path} is not a vault keyring") from None
    if not outer.get("sealed"):
        if passphrase:
            raise ConfigurationError(
                f"VAULT_KEYRING_PASSPHRASE is set but the keyring {path} is not "
                "sealed; unset the variable (or recreate the keyring sealed)"
            )
        return outer, None
    if not passphrase:
        raise ConfigurationError(f"the keyring {path} is sealed: set VAULT_KEYRING_PASSPHRASE")
    try:
        kdf = outer["kdf"]
        params = Argon2Params(
            iterations=int(kdf["iterations"]),
            memory_kib=int(kdf["memory_kib"]),
            lanes=int(kdf["lanes"]),
        )
        if kdf.get("name") != "argon2id":
            raise ValueError("unknown kdf")
        salt, nonce, ciphertext = (
            decode_b64(kdf["salt"]),
            decode_b64(outer["nonce"]),
            decode_b64(outer["ciphertext"]),
        )
        key = derive_seal_key(passphrase, salt, params)
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise ConfigurationError(f"the keyring {path} is damaged") from None
    try:
        inner = AESGCM(key).decrypt(nonce, ciphertext, seal_aad(kdf))
    except InvalidTag:
        raise ConfigurationError(
            f"VAULT_KEYRING_PASSPHRASE does not open the keyring {path} "
            "(wrong passphrase, or the file was altered)"
        ) from None
    contents: dict[str, Any] = json.loads(inner)
    return contents, Seal(key, kdf)


def seal_aad(kdf: dict[str, Any]) -> bytes:
    return _SEAL_AAD + json.dumps(kdf, sort_keys=True, separators=(",", ":")).encode("utf-8")


def encode_keyring(contents: dict[str, Any], seal: Seal | None) -> bytes:
    inner = json.dumps(contents, indent=2, sort_keys=True).encode("utf-8")
    if seal is None:
        return inner
    nonce = os.urandom(12)
    ciphertext = AESGCM(seal.key).encrypt(nonce, inner, seal_aad(seal.kdf))
    outer = {
        "format": FORMAT,
        "sealed": True,
        "kdf": seal.kdf,
        "nonce": encode_b64(nonce),
        "ciphertext": encode_b64(ciphertext),
    }
    return json.dumps(outer, indent=2, sort_keys=True).encode("utf-8")


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` atomically with a 0600 file holding ``data``."""
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@contextlib.contextmanager
def exclusive_lock(keys_dir: Path) -> Iterator[None]:
    """An exclusive lock between processes editing the keyring."""
    fd = os.open(keys_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
