"""``vault.consent.pepper``: PIN hashes that a stolen database alone cannot guess against."""

from __future__ import annotations

import pickle

import pytest

from vault.config import Argon2Profile
from vault.consent.pepper import PEPPERED_PREFIX, PepperedPins
from vault.identity.passwords import SecretHasher

PEPPER = bytes(range(32))


@pytest.fixture(scope="module")
def hasher() -> SecretHasher:
    return SecretHasher(Argon2Profile.CHEAPEST)


def test_peppered_pin_verifies_only_with_its_pepper(hasher: SecretHasher) -> None:
    """The right PIN verifies; the same hash under another pepper does not."""
    pins = PepperedPins(hasher, PEPPER)
    stored = pins.hash("284619")
    assert stored.startswith(PEPPERED_PREFIX)
    assert pins.verify(stored, "284619")
    assert not pins.verify(stored, "284610")
    assert not PepperedPins(hasher, bytes(32)).verify(stored, "284619")


def test_argon2_hash_is_of_the_mac_not_of_the_pin(hasher: SecretHasher) -> None:
    """Without the pepper, guessing PINs against the stored argon2id hash finds nothing."""
    stored = PepperedPins(hasher, PEPPER).hash("284619")
    assert not hasher.verify(stored.removeprefix(PEPPERED_PREFIX), "284619")


def test_hash_from_before_the_pepper_still_verifies_and_asks_for_a_rehash(
    hasher: SecretHasher,
) -> None:
    """An old unpeppered hash opens with the right PIN and is flagged to be replaced."""
    pins = PepperedPins(hasher, PEPPER)
    old = hasher.hash("284619")
    assert pins.verify(old, "284619")
    assert pins.needs_rehash(old)
    assert not pins.needs_rehash(pins.hash("284619"))


def test_pepper_must_be_32_bytes(hasher: SecretHasher) -> None:
    """A short pepper is a configuration mistake, refused at once."""
    with pytest.raises(ValueError, match="32 bytes"):
        PepperedPins(hasher, b"short")


def test_pepper_stays_out_of_logs_and_pickles(hasher: SecretHasher) -> None:
    """repr hides the pepper, and the object cannot be pickled to disk."""
    pins = PepperedPins(hasher, PEPPER)
    assert repr(pins) == "PepperedPins(<pepper>)"
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(pins)
