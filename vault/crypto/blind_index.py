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

Versions: the key of index version N for a field is
``derive("vault/blind-index/v<N>/<field>")``. A version 1 digest is stored as
64 hex characters (as in every release before index keys rotated); a digest
under version N >= 2 as ``"i<N>." + base64url(HMAC)`` (at most 52 characters, so
it fits the same column, and names its version). While ``vault keys
rebuild-index`` moves the digests to a new version, a search looks under every
version still in use (``lookups``), so it finds a subject whichever version its
row is under at that moment.
"""

from __future__ import annotations

import base64
import re
import threading
import unicodedata
from collections.abc import Callable
from typing import NoReturn, Protocol

from cryptography.hazmat.primitives import hashes, hmac

from vault.errors import InvalidInput

MAX_IDENTIFIER_CHARS = 256
_SPACES = re.compile(r"\s+")
_NIK_SEPARATORS = re.compile(r"[\s.\-/]")
_NIK = re.compile(r"^[0-9]{16}$")
NIK_DIGITS = 16
LABEL = b"vault/blind-index/v1/"
_LABEL = LABEL
_VERSIONED = re.compile(r"^i([1-9][0-9]{0,5})\.")


def index_label(version: int, field_name: str) -> bytes:
    return b"vault/blind-index/v%d/" % version + field_name.encode("utf-8")


def digest_version(stored: str) -> int | None:
    """The index version of a stored digest (1 for 64 hex characters), or None."""
    found = _VERSIONED.match(stored)
    if found is not None:
        return int(found.group(1))
    return 1 if len(stored) == 64 and all(c in "0123456789abcdef" for c in stored) else None


class IndexVersions(Protocol):
    def current(self) -> int:
        """The version new digests are made under."""
        ...

    def searched(self) -> tuple[int, ...]:
        """The versions a search looks under (the current first)."""
        ...

    def refresh(self) -> object:
        """Read the versions again now."""
        ...


class _OnlyVersionOne:
    def current(self) -> int:
        return 1

    def searched(self) -> tuple[int, ...]:
        return (1,)

    def refresh(self) -> object:
        return None


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
    """Per-field, per-version HMAC-SHA256 digests of normalised identifiers."""

    def __init__(
        self, derive_secret: Callable[[bytes], bytes], versions: IndexVersions | None = None
    ) -> None:
        self._derive_secret = derive_secret
        self._versions: IndexVersions = versions or _OnlyVersionOne()
        self._field_keys: dict[tuple[int, str], bytes] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return "BlindIndex(<hidden>)"

    def __reduce__(self) -> NoReturn:
        raise TypeError("a BlindIndex cannot be pickled")

    @property
    def current_version(self) -> int:
        return self._versions.current()

    def refresh_versions(self) -> None:
        """Learn the index key versions now rather than at the next periodic reread."""
        self._versions.refresh()

    def _key(self, version: int, field_name: str) -> bytes:
        key = self._field_keys.get((version, field_name))
        if key is None:
            with self._lock:
                key = self._derive_secret(index_label(version, field_name))
                self._field_keys[(version, field_name)] = key
        return key

    def digest(self, field_name: str, value: str, version: int | None = None) -> str:
        """The stored form of the value's digest under the current version (or ``version``):
        64 hex characters under version 1, ``i<N>.`` and base64url above."""
        version = self._versions.current() if version is None else version
        mac = hmac.HMAC(self._key(version, field_name), hashes.SHA256())
        mac.update(normalise(field_name, value).encode("utf-8"))
        raw = mac.finalize()
        if version == 1:
            return raw.hex()
        return f"i{version}." + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    def lookups(self, field_name: str, value: str) -> tuple[str, ...]:
        """Every stored form a search for the value must match (one per version in use)."""
        return tuple(
            self.digest(field_name, value, version) for version in self._versions.searched()
        )
