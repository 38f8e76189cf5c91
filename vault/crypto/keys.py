"""Key handles: a subject's data key (DEK) and its wrapped form.

A ``DataKey`` never shows its bytes: its ``repr`` hides them and it refuses to
be pickled (so it cannot leak into a cache, a queue or a crash dump by
accident). The raw bytes are reachable only through ``.material``, which only
``vault.crypto`` itself and the key providers use.
"""

from __future__ import annotations

import hmac
import os
import uuid
from dataclasses import dataclass
from typing import Any, NoReturn

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

DEK_BYTES = 32


class DataKey:
    """A 256-bit AES data key. Compare with ``==`` (constant time); never print or pickle it."""

    __slots__ = ("_derived", "_material")

    def __init__(self, material: bytes) -> None:
        if not isinstance(material, bytes) or len(material) != DEK_BYTES:
            raise ValueError(f"a data key is exactly {DEK_BYTES} bytes")
        self._material = material
        # Subkeys derived with HKDF, memoised: a DEK is cached for minutes and
        # used for many fields, and the derivation costs more than the AES itself.
        self._derived: dict[bytes, bytes] = {}

    @classmethod
    def generate(cls) -> DataKey:
        """A fresh key from the operating system's CSPRNG."""
        return cls(os.urandom(DEK_BYTES))

    @property
    def material(self) -> bytes:
        """The raw key bytes. Only for wrapping and for the ciphers in ``vault.crypto``."""
        return self._material

    def derive(self, info: bytes, length: int = 32) -> bytes:
        """An HKDF-SHA256 subkey for one purpose (``info`` names it; no salt)."""
        key = info + length.to_bytes(2, "big")
        derived = self._derived.get(key)
        if derived is None:
            derived = HKDF(hashes.SHA256(), length, None, info).derive(self._material)
            self._derived[key] = derived
        return derived

    def __repr__(self) -> str:
        return "DataKey(<hidden>)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DataKey):
            return NotImplemented
        return hmac.compare_digest(self._material, other._material)

    __hash__ = None  # type: ignore[assignment]  # mutable-equality semantics: keys are not dict keys

    def __getstate__(self) -> NoReturn:
        raise TypeError("a DataKey cannot be pickled")

    def __reduce__(self) -> NoReturn:
        raise TypeError("a DataKey cannot be pickled")

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError("a DataKey cannot be pickled")

    def __copy__(self) -> NoReturn:
        raise TypeError("a DataKey cannot be copied")

    def __deepcopy__(self, memo: Any) -> NoReturn:
        raise TypeError("a DataKey cannot be copied")


# Formats of a wrapped data key, told apart by length and a leading version byte
# (a DEK is always 32 bytes, so each format has exactly one length):
WRAP_LEGACY = 1
"""RFC 5649 AES key wrap with padding, no associated data: 40 bytes. Read, never written."""
WRAP_GCM = 2
"""``0x02 || nonce(12) || AES-256-GCM(dek) (32) || tag(16)``: 61 bytes (file provider)."""
WRAP_KWP_MAC = 3
"""``0x03 || KWP(dek) (40) || HMAC-SHA256 key check (32)``: 73 bytes (PKCS#11 provider)."""
_FORMAT_LENGTHS = {WRAP_GCM: 61, WRAP_KWP_MAC: 73}
LEGACY_WRAP_BYTES = 40
WRAP_BINDING_LABEL = b"vault/dek-wrap/v2"


def wrap_format(blob: bytes) -> int | None:
    """The format of a stored wrapped key, or None if it is none of the known ones."""
    if len(blob) == LEGACY_WRAP_BYTES:
        return WRAP_LEGACY
    if blob and _FORMAT_LENGTHS.get(blob[0]) == len(blob):
        return blob[0]
    return None


def wrap_binding(subject_id: uuid.UUID, kek_version: int, fmt: int) -> bytes:
    """The associated data binding a wrapped DEK to its subject and KEK version."""
    return WRAP_BINDING_LABEL + bytes([0, fmt]) + subject_id.bytes + kek_version.to_bytes(4, "big")


@dataclass(frozen=True)
class WrappedKey:
    """A data key encrypted by one version of the key-encryption key (safe to store)."""

    kek_version: int
    blob: bytes

    @property
    def format(self) -> int | None:
        """``WRAP_LEGACY``, ``WRAP_GCM``, ``WRAP_KWP_MAC`` or None (unknown)."""
        return wrap_format(self.blob)

    @property
    def bound(self) -> bool:
        """Whether the wrap binds the key to its subject and KEK version."""
        return self.format in (WRAP_GCM, WRAP_KWP_MAC)

    def __post_init__(self) -> None:
        if self.kek_version < 1:
            raise ValueError("KEK versions start at 1")
        if not self.blob or len(self.blob) > 1024:
            raise ValueError("a wrapped key is 1 to 1024 bytes")
