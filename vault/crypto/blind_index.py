"""Blind index: equality search on identifiers without storing them.

``digest(field, value)`` is HMAC-SHA256 of the normalised value under a key
for that field alone. Field keys come from the key provider's root secret
(``KeyProvider.derive_secret``: HKDF from the keyring's root in the file
provider, an HMAC inside the token in the PKCS#11 provider), so they survive
KEK rotation and differ per field: a NIK digest cannot be matched against a
register-number digest.

Normalisation, so that the same identifier typed differently matches:

- every value: Unicode NFKC (full-width digits and letters become ASCII), trimmed;
- ``nik`` (national ID number): separators (spaces, ``.``, ``-``, ``/``) dropped,
  then exactly 16 digits; a letter or any other character is refused, never
  silently dropped (``12a3`` must not find ``123``);
- ``register_number``: upper case, runs of white space collapsed to one space;
- any other field: case-folded, runs of white space collapsed.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable
from typing import NoReturn

from cryptography.hazmat.primitives import hashes, hmac

from vault.errors import InvalidInput

MAX_IDENTIFIER_CHARS = 256
_SPACES = re.compile(r"\s+")
_NIK_SEPARATORS = re.compile(r"[\s.\-/]")
_NIK = re.compile(r"^[0-9]{16}$")
NIK_DIGITS = 16
LABEL = b"vault/blind-index/v1/"
_LABEL = LABEL


def normalise_nik(value: str) -> str:
    digits = _NIK_SEPARATORS.sub("", value)
    if not _NIK.match(digits):
        raise InvalidInput(f"nik: a NIK is exactly {NIK_DIGITS} digits (separators allowed)")
    return digits


def normalise_register_number(value: str) -> str:
    return _SPACES.sub(" ", value).upper()


def normalise_other(value: str) -> str:
    return _SPACES.sub(" ", value).casefold()


NORMALISERS: dict[str, Callable[[str], str]] = {
    "nik": normalise_nik,
    "register_number": normalise_register_number,
}


def normalise(field_name: str, value: str) -> str:
    """The canonical form of ``value`` for ``field_name``; InvalidInput if nothing is left."""
    if len(value) > MAX_IDENTIFIER_CHARS:
        raise InvalidInput(f"{field_name} is longer than {MAX_IDENTIFIER_CHARS} characters")
    text = unicodedata.normalize("NFKC", value).strip()
    canonical = NORMALISERS.get(field_name, normalise_other)(text)
    if not canonical:
        raise InvalidInput(f"{field_name} is empty once normalised")
    return canonical


class BlindIndex:
    """Per-field HMAC-SHA256 digests of normalised identifiers."""

    def __init__(self, derive_secret: Callable[[bytes], bytes]) -> None:
        self._derive_secret = derive_secret
        self._field_keys: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return "BlindIndex(<hidden>)"

    def __reduce__(self) -> NoReturn:
        raise TypeError("a BlindIndex cannot be pickled")

    def _key(self, field_name: str) -> bytes:
        key = self._field_keys.get(field_name)
        if key is None:
            with self._lock:
                key = self._derive_secret(_LABEL + field_name.encode("utf-8"))
                self._field_keys[field_name] = key
        return key

    def digest(self, field_name: str, value: str) -> str:
        """Hex HMAC-SHA256 of the normalised value (64 characters)."""
        mac = hmac.HMAC(self._key(field_name), hashes.SHA256())
        mac.update(normalise(field_name, value).encode("utf-8"))
        return mac.finalize().hex()
