"""Key errors say nothing about where keys live; NIKs are exactly 16 digits."""

from __future__ import annotations

import logging

import pytest

from vault.crypto.blind_index import BlindIndex
from vault.crypto.providers.base import unavailable
from vault.errors import InvalidInput


def test_key_unavailable_keeps_paths_versions_and_labels_in_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The caller's message names no keyring path, KEK versions or token label; the log does."""
    with caplog.at_level(logging.ERROR):
        error = unavailable("KEK version 7 is not in token 'hsm-prod'; keyring /srv/keys holds [1]")
    assert error.status == 503
    for secret in ("7", "hsm-prod", "/srv/keys", "[1]"):
        assert secret not in str(error.detail)
        assert secret in caplog.text


@pytest.mark.parametrize(
    "typed",
    [
        "3171012345678901",
        "3171 0123 4567 8901",
        "3171-0123-4567-8901",
        "".join(chr(0xFF10 + int(d)) for d in "3171012345678901"),
    ],
)
def test_nik_spellings_with_separators_are_one(typed: str) -> None:
    """Separators and full-width digits normalise to the same 16 digits."""
    index = BlindIndex(lambda label: b"k" * 32)
    assert index.digest("nik", typed) == index.digest("nik", "3171012345678901")


@pytest.mark.parametrize(
    "typed",
    [
        "12a3",
        "317101234567890a",
        "3171O12345678901",
        "317101234567890",
        "31710123456789012",
        "3171_0123456789012",
    ],
)
def test_nik_with_letters_or_wrong_length_is_refused(typed: str) -> None:
    """A letter is never dropped ("12a3" is not "123"), and a NIK has exactly 16 digits: 422."""
    index = BlindIndex(lambda label: b"k" * 32)
    with pytest.raises(InvalidInput) as caught:
        index.digest("nik", typed)
    assert caught.value.status in (400, 422)
