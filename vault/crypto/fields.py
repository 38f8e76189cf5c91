"""Field ciphertext: AES-256-GCM under the subject's data key, committed to that key.

Wire format, version 1 (all lengths in bytes)::

    0      1          33        45                      len-16   len
    +------+----------+---------+-----------------------+--------+
    | 0x01 | commit   | nonce   | AES-GCM ciphertext    | tag    |
    |  1   |   32     |   12    | len(plaintext)        |  16    |
    +------+----------+---------+-----------------------+--------+

- ``commit`` = HKDF-SHA256(DEK, info="vault/field/v1/commitment"), checked with
  ``hmac.compare_digest`` before any decryption, so one ciphertext can never
  decrypt validly under two keys (AES-GCM alone does not commit to its key; this
  is the AWS Encryption SDK's committing construction).
- The AES key is HKDF-SHA256(DEK, info="vault/field/v1/encryption"), never the DEK itself.
- ``nonce``: 96 random bits, fresh for every write.
- Associated data (not stored; rebuilt by the reader from where the field sits)::

      "vault/field/v1" | 0x01 | subject_id (16) | record_id (16)
      | len(record_type) (1) | record_type (UTF-8) | len(field_name) (1) | field_name (UTF-8)
      | manifest_digest (32)

  so a ciphertext moved to another subject, record, record type or field fails,
  and ``manifest_digest`` (see ``record_manifest_digest``) binds every field of
  a record to the full list of its fields: deleting, adding or duplicating a
  field in the database makes every field of the record fail.

Every failure is the one opaque ``DecryptionFailed``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import NoReturn

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vault.crypto.keys import DataKey
from vault.errors import DecryptionFailed

FORMAT_VERSION = 1
COMMITMENT_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
HEADER_BYTES = 1 + COMMITMENT_BYTES + NONCE_BYTES
OVERHEAD_BYTES = HEADER_BYTES + TAG_BYTES
MAX_PLAINTEXT_BYTES = 1 << 20
MAX_CIPHERTEXT_BYTES = MAX_PLAINTEXT_BYTES + OVERHEAD_BYTES
MAX_NAME_BYTES = 64
MANIFEST_DIGEST_BYTES = 32

_ENCRYPTION_INFO = b"vault/field/v1/encryption"
_COMMITMENT_INFO = b"vault/field/v1/commitment"
_AAD_PREFIX = b"vault/field/v1" + bytes((FORMAT_VERSION,))
_MANIFEST_LABEL = b"vault/record-manifest/v1\x00"


def _name_bytes(value: str, what: str) -> bytes:
    encoded = value.encode("utf-8")
    if not 1 <= len(encoded) <= MAX_NAME_BYTES:
        raise ValueError(f"{what} must be 1 to {MAX_NAME_BYTES} bytes of UTF-8")
    return encoded


@dataclass(frozen=True)
class FieldBinding:
    """Where a field ciphertext belongs; becomes its associated data."""

    subject_id: uuid.UUID
    record_id: uuid.UUID
    record_type: str
    field_name: str
    manifest_digest: bytes
    # Built once, with the validation: the binding is immutable.
    _aad: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        record_type = _name_bytes(self.record_type, "record_type")
        field_name = _name_bytes(self.field_name, "field_name")
        if len(self.manifest_digest) != MANIFEST_DIGEST_BYTES:
            raise ValueError(f"manifest_digest must be {MANIFEST_DIGEST_BYTES} bytes")
        aad = b"".join(
            (
                _AAD_PREFIX,
                self.subject_id.bytes,
                self.record_id.bytes,
                bytes((len(record_type),)),
                record_type,
                bytes((len(field_name),)),
                field_name,
                self.manifest_digest,
            )
        )
        object.__setattr__(self, "_aad", aad)

    def associated_data(self) -> bytes:
        return self._aad


def record_manifest_digest(
    record_id: uuid.UUID, record_type: str, version: int, field_names: Iterable[str]
) -> bytes:
    """SHA-256 over the record's identity and the sorted list of its field names.

    Duplicates are kept (not de-duplicated), so a duplicated field changes the digest.
    """
    if version < 1:
        raise ValueError("record versions start at 1")
    names = sorted(_name_bytes(name, "field name") for name in field_names)
    record_type_bytes = _name_bytes(record_type, "record_type")
    digest = hashlib.sha256(_MANIFEST_LABEL)
    digest.update(record_id.bytes)
    digest.update(bytes((len(record_type_bytes),)) + record_type_bytes)
    digest.update(version.to_bytes(8, "big"))
    digest.update(len(names).to_bytes(4, "big"))
    for name in names:
        digest.update(bytes((len(name),)) + name)
    return digest.digest()


class FieldCipher:
    """Encrypts and decrypts the fields of one subject under that subject's data key.

    Cheap to build once the DEK's subkeys are derived (they are memoised on the
    ``DataKey``). ``nonce_source`` exists so tests can fix the nonce; never pass
    it in production.
    """

    __slots__ = ("_aead", "_prefix", "_random")

    def __init__(self, dek: DataKey, *, nonce_source: Callable[[int], bytes] = os.urandom) -> None:
        self._aead = AESGCM(dek.derive(_ENCRYPTION_INFO))
        # Version byte and commitment: the first 33 bytes of every ciphertext of this key.
        self._prefix = bytes((FORMAT_VERSION,)) + dek.derive(_COMMITMENT_INFO)
        self._random = nonce_source

    def __repr__(self) -> str:
        return "FieldCipher(<hidden>)"

    def __reduce__(self) -> NoReturn:
        raise TypeError("a FieldCipher cannot be pickled")

    def encrypt(self, plaintext: bytes, binding: FieldBinding) -> bytes:
        if len(plaintext) > MAX_PLAINTEXT_BYTES:
            raise ValueError(f"a field holds at most {MAX_PLAINTEXT_BYTES} bytes")
        nonce = self._random(NONCE_BYTES)
        if len(nonce) != NONCE_BYTES:
            raise ValueError("the nonce source must give 12 bytes")
        return self._prefix + nonce + self._aead.encrypt(nonce, plaintext, binding._aad)

    def decrypt(self, ciphertext: bytes, binding: FieldBinding) -> bytes:
        if not OVERHEAD_BYTES <= len(ciphertext) <= MAX_CIPHERTEXT_BYTES:
            raise DecryptionFailed()
        # Version and key commitment in one constant-time comparison, before decrypting.
        if not hmac.compare_digest(ciphertext[: 1 + COMMITMENT_BYTES], self._prefix):
            raise DecryptionFailed()
        nonce = ciphertext[1 + COMMITMENT_BYTES : HEADER_BYTES]
        try:
            return self._aead.decrypt(nonce, ciphertext[HEADER_BYTES:], binding._aad)
        except InvalidTag:
            raise DecryptionFailed() from None
