"""Sealing small system-held secrets kept in ordinary columns (TOTP seeds, justifications,
receipts, account and session seals): the field format of
:mod:`vault.crypto.fields`, under a seal key derived from the key provider's root secret,
bound to the table, the column and the row.

A sealed value copied into another row or column fails to open, like a record
field moved elsewhere. Stored as text: ``"v<N>:" + base64url(ciphertext)``, where
``N`` is the seal key version (the key id): the key is
``derive("vault/column-seal/v<N>")``. Version 1 is the format of every release
before seal keys rotated, so old seals read unchanged.

Which version seals and which versions open is the business of a
:class:`SealVersions` (the store's key pins, ``vault.keys.versions``): a seal
under a version that was never made current, or was retired, opens nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import threading
import uuid
from collections.abc import Callable
from typing import NoReturn, Protocol

from vault.crypto.fields import FieldBinding, FieldCipher, record_manifest_digest
from vault.crypto.keys import DataKey
from vault.errors import DecryptionFailed

COLUMN_SEAL_LABEL = b"vault/column-seal/v1"
PREFIX = "v1:"
_SEALED = re.compile(r"^v([1-9][0-9]{0,5}):")


def seal_label(version: int) -> bytes:
    """The derivation label of seal key ``version`` (v1: the label of every older release)."""
    return b"vault/column-seal/v%d" % version


def seal_version(stored: str) -> int | None:
    """The seal key version a stored value names, or None if it is no seal."""
    found = _SEALED.match(stored)
    return None if found is None else int(found.group(1))


class SealVersions(Protocol):
    def current(self) -> int:
        """The version new seals use."""
        ...

    def accepted(self) -> frozenset[int]:
        """The versions a seal may be opened under (every version made and not retired)."""
        ...

    def refresh(self) -> object:
        """Read the versions again now."""
        ...


class OnlyVersionOne:
    """The versions of a sealer given one secret: version 1 seals and opens."""

    def current(self) -> int:
        return 1

    def accepted(self) -> frozenset[int]:
        return frozenset({1})

    def refresh(self) -> object:
        return None


class ColumnSealer:
    """Seals and opens one column value of one row. Key bytes never leave the object.

    ``ColumnSealer(secret)``: one key, version 1. ``ColumnSealer(derive=..., versions=...)``:
    the seal key of version N is ``derive(seal_label(N))``, derived on first use.
    """

    __slots__ = ("_ciphers", "_derive", "_held", "_lock", "_versions")

    # How many seals found to hold are remembered (``holds``); then it starts again.
    HELD_REMEMBERED = 4096

    def __init__(
        self,
        secret: bytes | None = None,
        *,
        derive: Callable[[bytes], bytes] | None = None,
        versions: SealVersions | None = None,
    ) -> None:
        self._ciphers: dict[int, FieldCipher] = {}
        self._lock = threading.Lock()
        self._held: set[bytes] = set()
        if secret is not None:
            self._ciphers[1] = FieldCipher(DataKey(secret))
            self._derive: Callable[[bytes], bytes] | None = None
            self._versions: SealVersions = OnlyVersionOne()
        elif derive is not None:
            self._derive = derive
            self._versions = versions or OnlyVersionOne()
        else:
            raise ValueError("a ColumnSealer needs a secret or a derivation")

    def __repr__(self) -> str:
        return "ColumnSealer(<hidden>)"

    def __reduce__(self) -> NoReturn:
        raise TypeError("a ColumnSealer holds key material and cannot be pickled")

    def _cipher(self, version: int) -> FieldCipher:
        cipher = self._ciphers.get(version)
        if cipher is None:
            if self._derive is None:
                raise DecryptionFailed()
            with self._lock:
                cipher = FieldCipher(DataKey(self._derive(seal_label(version))))
                self._ciphers[version] = cipher
        return cipher

    @property
    def current_version(self) -> int:
        return self._versions.current()

    def refresh_versions(self) -> None:
        """Learn the seal key versions now rather than at the next periodic reread."""
        self._versions.refresh()

    @staticmethod
    def _binding(table: str, column: str, row_id: uuid.UUID) -> FieldBinding:
        digest = record_manifest_digest(row_id, table, 1, [column])
        return FieldBinding(row_id, row_id, table, column, digest)

    def seal(
        self, table: str, column: str, row_id: uuid.UUID, value: str, version: int | None = None
    ) -> str:
        """``value`` sealed to its row under the current seal key (or ``version``)."""
        version = self._versions.current() if version is None else version
        ciphertext = self._cipher(version).encrypt(
            value.encode("utf-8"), self._binding(table, column, row_id)
        )
        return f"v{version}:" + base64.urlsafe_b64encode(ciphertext).decode("ascii")

    def open(self, table: str, column: str, row_id: uuid.UUID, stored: str) -> str:
        """The value, or the one opaque DecryptionFailed for anything tampered, moved, or
        sealed under a seal key version that is unknown or retired."""
        version = self._accepted_version(stored)
        if version is None:
            raise DecryptionFailed()
        encoded = stored[len(f"v{version}:") :]
        try:
            ciphertext = base64.urlsafe_b64decode(encoded.encode("ascii"))
        except (binascii.Error, UnicodeEncodeError):
            raise DecryptionFailed() from None
        # One stored form per value: base64 ignores the unused bits of its last
        # character, which would let two different strings open to the same value.
        if base64.urlsafe_b64encode(ciphertext).decode("ascii") != encoded:
            raise DecryptionFailed()
        plaintext = self._cipher(version).decrypt(ciphertext, self._binding(table, column, row_id))
        try:
            return plaintext.decode("utf-8")
        except UnicodeDecodeError:
            raise DecryptionFailed() from None

    def _accepted_version(self, stored: str) -> int | None:
        """The seal key version ``stored`` names, if it may be opened under it now."""
        version = seal_version(stored)
        if version is None or version not in self._versions.accepted():
            return None
        return version

    def holds(
        self, table: str, column: str, row_id: uuid.UUID, stored: str | None, value: str
    ) -> bool:
        """Whether ``stored`` is ``value`` sealed to this row (compared in constant time).

        For bindings that must match their row (an account's role, a session's
        subject): missing, tampered, moved or different all answer False.
        """
        if not stored:
            return False
        # Every request checks its token's and its account's seals, unchanged since
        # the last request: an exact match of everything ``open`` would read is
        # answered from memory (measured: ~3% of a loaded server's CPU). A changed
        # row, value or binding misses; a retired version is refused here first.
        if self._accepted_version(stored) is None:
            return False
        held = _held_digest(table, column, row_id, stored, value)
        if held in self._held:
            return True
        try:
            sealed = self.open(table, column, row_id, stored)
        except DecryptionFailed:
            return False
        if not hmac.compare_digest(sealed.encode("utf-8"), value.encode("utf-8")):
            return False
        if len(self._held) >= self.HELD_REMEMBERED:
            self._held.clear()  # bounded; the next checks open their seals again
        self._held.add(held)
        return True

    @staticmethod
    def sealed_length(value_bytes: int, version_digits: int = 1) -> int:
        """Characters a sealed value of ``value_bytes`` UTF-8 bytes takes in its column
        (with room for a version of up to ``version_digits`` digits)."""
        return 2 + version_digits + 4 * ((61 + value_bytes + 2) // 3)


def _held_digest(table: str, column: str, row_id: uuid.UUID, stored: str, value: str) -> bytes:
    """One seal check's inputs, digested: what ``holds`` remembers (never the value)."""
    # Table and column names hold no NUL; the stored seal is base64; a value may hold
    # anything, so it comes last, where it cannot shift another part's boundary.
    parts = f"{table}\0{column}\0{row_id}\0{stored}\0{value}"
    return hashlib.blake2b(parts.encode("utf-8"), digest_size=32).digest()
