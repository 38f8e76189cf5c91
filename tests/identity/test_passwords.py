"""``vault.identity.passwords``: argon2id hashing that never raises on a wrong secret."""

from __future__ import annotations

import pytest

from vault.config import Argon2Profile
from vault.errors import InvalidInput
from vault.identity.passwords import (
    MAX_PASSWORD_CHARS,
    MIN_PASSWORD_CHARS,
    SecretHasher,
    check_password,
)


@pytest.fixture(scope="module")
def hasher() -> SecretHasher:
    return SecretHasher(Argon2Profile.CHEAPEST)


def test_right_secret_verifies_and_wrong_one_does_not(hasher: SecretHasher) -> None:
    """The hash of a password verifies it and refuses any other."""
    stored = hasher.hash("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert hasher.verify(stored, "correct horse battery")
    assert not hasher.verify(stored, "correct horse battery!")


def test_malformed_stored_hash_is_a_refusal_not_an_error(hasher: SecretHasher) -> None:
    """A damaged hash column makes the login fail closed, without an exception."""
    assert not hasher.verify("not-a-hash", "anything")
    assert hasher.needs_rehash("not-a-hash")


def test_empty_secret_is_never_hashed(hasher: SecretHasher) -> None:
    """An empty password or PIN is refused outright."""
    with pytest.raises(ValueError, match="empty"):
        hasher.hash("")


def test_unknown_account_costs_a_verification_and_is_refused(hasher: SecretHasher) -> None:
    """The dummy check for an unknown username always answers no."""
    assert hasher.verify_dummy("whatever") is False
    assert hasher.verify_dummy("whatever") is False


def test_hash_of_another_profile_asks_for_a_rehash(hasher: SecretHasher) -> None:
    """After a profile change, old hashes are flagged to be redone at the next login."""
    stronger = SecretHasher(Argon2Profile.RFC_9106_LOW_MEMORY)
    assert not hasher.needs_rehash(hasher.hash("pin-0000-long"))
    assert stronger.needs_rehash(hasher.hash("pin-0000-long"))


def test_repr_names_the_profile_only(hasher: SecretHasher) -> None:
    """Logging the hasher shows its profile, nothing of any secret."""
    assert repr(hasher) == f"SecretHasher(profile={Argon2Profile.CHEAPEST.value!r})"


def test_password_length_bounds() -> None:
    """Too short or too long is a clear 4xx-style refusal; the bounds themselves pass."""
    check_password("x" * MIN_PASSWORD_CHARS)
    check_password("x" * MAX_PASSWORD_CHARS)
    with pytest.raises(InvalidInput, match="at least"):
        check_password("x" * (MIN_PASSWORD_CHARS - 1))
    with pytest.raises(InvalidInput, match="at most"):
        check_password("x" * (MAX_PASSWORD_CHARS + 1))
