"""Sealing small system-held secrets kept in ordinary columns (TOTP seeds, justifications,
guardian names): the field format of :mod:`vault.crypto.fields`, under a key derived from
the key provider's root secret, bound to the table, the column and the row.

A sealed value copied into another row or column fails to open, like a record
field moved elsewhere. Stored as text: ``"v1:" + base64url(ciphertext)``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import uuid
from typing import NoReturn

from vault.crypto.fields import FieldBinding, FieldCipher, record_manifest_digest
from vault.crypto.keys import DataKey
from vault.errors import DecryptionFailed

COLUMN_SEAL_LABEL = b"vault/column-seal/v1"
PREFIX = "v1:"


class ColumnSealer:
    """Seals and opens one column value of one row. Key bytes never leave the object."""

    __slots__ = ("_cipher",)

    def __init__(self, secret: bytes) -> None:
        self._cipher = FieldCipher(DataKey(secret))

    def __repr__(self) -> str:
        return "ColumnSealer(<hidden>)"

    def __reduce__(self) -> NoReturn:
        raise TypeError("a ColumnSealer holds key material and cannot be pickled")

    @staticmethod
    def _binding(table: str, column: str, row_id: uuid.UUID) -> FieldBinding:
        digest = record_manifest_digest(row_id, table, 1, [column])
        return FieldBinding(row_id, row_id, table, column, digest)

    def seal(self, table: str, column: str, row_id: uuid.UUID, value: str) -> str:
        ciphertext = self._cipher.encrypt(
            value.encode("utf-8"), self._binding(table, column, row_id)
        )
        return PREFIX + base64.urlsafe_b64encode(ciphertext).decode("ascii")

    def open(self, table: str, column: str, row_id: uuid.UUID, stored: str) -> str:
        """The value, or the one opaque DecryptionFailed for anything tampered or moved."""
        if not stored.startswith(PREFIX):
            raise DecryptionFailed()
        encoded = stored[len(PREFIX) :]
        try:
            ciphertext = base64.urlsafe_b64decode(encoded.encode("ascii"))
        except (binascii.Error, UnicodeEncodeError):
            raise DecryptionFailed() from None
        # One stored form per value: base64 ignores the unused bits of its last
        # character, which would let two different strings open to the same value.
        if base64.urlsafe_b64encode(ciphertext).decode("ascii") != encoded:
            raise DecryptionFailed()
        plaintext = self._cipher.decrypt(ciphertext, self._binding(table, column, row_id))
        try:
            return plaintext.decode("utf-8")
        except UnicodeDecodeError:
            raise DecryptionFailed() from None

    def holds(
        self, table: str, column: str, row_id: uuid.UUID, stored: str | None, value: str
    ) -> bool:
        """Whether ``stored`` is ``value`` sealed to this row (compared in constant time).

        For bindings that must match their row (an account's role, a session's
        subject): missing, tampered, moved or different all answer False.
        """
        if not stored:
            return False
        try:
            sealed = self.open(table, column, row_id, stored)
        except DecryptionFailed:
            return False
        return hmac.compare_digest(sealed.encode("utf-8"), value.encode("utf-8"))

    @staticmethod
    def sealed_length(value_bytes: int) -> int:
        """Characters a sealed value of ``value_bytes`` UTF-8 bytes takes in its column."""
        return len(PREFIX) + 4 * ((61 + value_bytes + 2) // 3)
