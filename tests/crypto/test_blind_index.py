"""Blind index: normalisation, per-field keys, no plaintext in the digest."""

from __future__ import annotations

import os

import pytest

from vault.crypto.blind_index import BlindIndex, normalise
from vault.errors import InvalidInput

# The NIK typed with full-width digits (U+FF10..U+FF19), as some keyboards give them.
FULL_WIDTH_NIK = "3171012345678901".translate({ord("0") + d: 0xFF10 + d for d in range(10)})


def _index(root: bytes | None = None) -> BlindIndex:
    secret = root or os.urandom(32)

    def derive(label: bytes) -> bytes:
        import hashlib
        import hmac

        return hmac.new(secret, label, hashlib.sha256).digest()

    return BlindIndex(derive)


@pytest.mark.parametrize(
    "typed",
    [
        "3171012345678901",
        " 3171 0123 4567 8901 ",
        "3171-0123-4567-8901",
        FULL_WIDTH_NIK,
    ],
)
def test_nik_spellings_give_one_digest(typed: str) -> None:
    """A NIK with spaces, dashes or full-width digits matches the plain digits."""
    index = _index(b"k" * 32)
    assert index.digest("nik", typed) == index.digest("nik", "3171012345678901")


@pytest.mark.parametrize(
    "typed", ["w.ii.123/2024", "  W.II.123/2024", "W.II.123/2024\t", "\uff37.II.123/2024"]
)
def test_register_number_is_trimmed_and_upper_cased(typed: str) -> None:
    """Register numbers match regardless of case, surrounding space and width."""
    assert normalise("register_number", typed) == "W.II.123/2024"


def test_register_number_collapses_inner_spaces() -> None:
    """Runs of inner white space count as one space."""
    assert normalise("register_number", "bi  12 \t 3") == "BI 12 3"


def test_different_values_and_fields_give_different_digests() -> None:
    """Digests differ across values and across fields for the same value."""
    index = _index()
    assert index.digest("nik", "3171012345678901") != index.digest("nik", "3171012345678902")
    assert index.digest("nik", "3171012345678901") != index.digest(
        "register_number", "3171012345678901"
    )


def test_digest_is_keyed_and_reveals_no_plaintext() -> None:
    """Another root secret gives another digest; the digest is 64 hex chars without the value."""
    value = "3171012345678901"
    a, b = _index().digest("nik", value), _index().digest("nik", value)
    assert a != b
    assert len(a) == 64
    assert value not in a


def test_empty_after_normalisation_is_invalid_input() -> None:
    """A NIK with no digits, or an over-long value, is refused with InvalidInput."""
    with pytest.raises(InvalidInput):
        _index().digest("nik", " - - ")
    with pytest.raises(InvalidInput):
        _index().digest("register_number", "x" * 1000)


def test_field_keys_are_derived_once() -> None:
    """The provider is asked for a field key once, not on every digest."""
    calls: list[bytes] = []

    def derive(label: bytes) -> bytes:
        calls.append(label)
        return b"k" * 32

    index = BlindIndex(derive)
    for _ in range(5):
        index.digest("nik", "3171012345678901")
    assert calls == [b"vault/blind-index/v1/nik"]
