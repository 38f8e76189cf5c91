"""Peppered PIN hashes: argon2id over HMAC-SHA256(pepper, PIN).

A PIN has a few thousand values: from a stolen database alone every argon2id
hash of one falls in minutes. The pepper is a 32-byte key derived from the key
provider (``keys.derive_secret(PIN_PEPPER_LABEL)``), never stored with the
data, so a dump without the key provider gives nothing to guess against.

Stored form: ``pep1$`` followed by the argon2id hash of the hex HMAC. A hash
without the prefix is from before the pepper; it still verifies, and the
consent service replaces it with a peppered one on the next right PIN
(``needs_rehash``), so old hashes disappear as subjects use the kiosk.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Protocol

PIN_PEPPER_LABEL = b"vault/pin-pepper/v1"
PEPPERED_PREFIX = "pep1$"
PEPPER_BYTES = 32


class SecretHashing(Protocol):
    def hash(self, secret: str) -> str: ...

    def verify(self, stored_hash: str, secret: str) -> bool: ...


class PepperedPins:
    """Hashes and verifies subjects' PINs (``PinVerifier`` and records' ``PinHasher``)."""

    def __init__(self, hasher: SecretHashing, pepper: bytes) -> None:
        if len(pepper) != PEPPER_BYTES:
            raise ValueError("the PIN pepper is 32 bytes")
        self._hasher = hasher
        self._pepper = pepper

    def __repr__(self) -> str:  # the pepper never reaches a log through repr
        return "PepperedPins(<pepper>)"

    def __getstate__(self) -> object:
        raise TypeError("PepperedPins holds a key and cannot be pickled")

    def _mac(self, pin: str) -> str:
        return hmac.new(self._pepper, pin.encode("utf-8"), hashlib.sha256).hexdigest()

    def hash(self, secret: str) -> str:
        return PEPPERED_PREFIX + self._hasher.hash(self._mac(secret))

    def verify(self, stored_hash: str, secret: str) -> bool:
        if stored_hash.startswith(PEPPERED_PREFIX):
            return self._hasher.verify(stored_hash.removeprefix(PEPPERED_PREFIX), self._mac(secret))
        return self._hasher.verify(stored_hash, secret)

    @staticmethod
    def needs_rehash(stored_hash: str) -> bool:
        return not stored_hash.startswith(PEPPERED_PREFIX)
