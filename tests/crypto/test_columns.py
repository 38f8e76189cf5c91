"""Sealed columns: system-held secrets encrypted and bound to their table, column and row."""

from __future__ import annotations

import pickle
import uuid

import pytest

from vault.crypto.columns import ColumnSealer
from vault.errors import DecryptionFailed

SECRET = bytes(range(32))


def test_round_trip_and_length() -> None:
    """A sealed value opens to itself and fits the length the column is given."""
    sealer = ColumnSealer(SECRET)
    row = uuid.uuid4()
    sealed = sealer.seal("users", "totp_secret", row, "JBSWY3DPEHPK3PXP")
    assert "JBSWY3DPEHPK3PXP" not in sealed
    assert len(sealed) <= ColumnSealer.sealed_length(len(b"JBSWY3DPEHPK3PXP"))
    assert sealer.open("users", "totp_secret", row, sealed) == "JBSWY3DPEHPK3PXP"


@pytest.mark.parametrize(
    ("table", "column", "other_row"),
    [("users", "other_column", False), ("other_table", "totp_secret", False), (None, None, True)],
)
def test_a_moved_value_does_not_open(
    table: str | None, column: str | None, other_row: bool
) -> None:
    """Copied into another row, column or table, a sealed value fails opaquely."""
    sealer = ColumnSealer(SECRET)
    row = uuid.uuid4()
    sealed = sealer.seal("users", "totp_secret", row, "secret")
    with pytest.raises(DecryptionFailed):
        sealer.open(
            table or "users", column or "totp_secret", uuid.uuid4() if other_row else row, sealed
        )


def test_tampering_and_other_keys_fail() -> None:
    """Any changed character, a plaintext value or another root secret never opens."""
    sealer = ColumnSealer(SECRET)
    row = uuid.uuid4()
    sealed = sealer.seal("t", "c", row, "secret")
    body = sealed[len("v1:") :]
    flips = [
        "v1:" + body[:i] + ("A" if body[i] != "A" else "B") + body[i + 1 :]
        for i in range(len(body))
        if body[i] != "="
    ]
    for stored in (*flips, "secret", "v1:!!!", ""):
        with pytest.raises(DecryptionFailed):
            sealer.open("t", "c", row, stored)
    with pytest.raises(DecryptionFailed):
        ColumnSealer(bytes(32)).open("t", "c", row, sealed)


def test_the_sealer_hides_its_key() -> None:
    """Neither repr nor pickle gives the key away."""
    sealer = ColumnSealer(SECRET)
    assert SECRET.hex() not in repr(sealer)
    with pytest.raises(TypeError):
        pickle.dumps(sealer)


def test_holds_only_the_value_sealed_to_that_row() -> None:
    """``holds`` is the check for bindings: the same value, on the same row, untampered."""
    sealer = ColumnSealer(SECRET)
    row, other = uuid.uuid4(), uuid.uuid4()
    stored = sealer.seal("users", "authz", row, "counselor1\ncounselor\nrutan-jakpus")
    assert sealer.holds("users", "authz", row, stored, "counselor1\ncounselor\nrutan-jakpus")
    assert not sealer.holds("users", "authz", row, stored, "counselor1\nadmin\nrutan-jakpus")
    assert not sealer.holds("users", "authz", other, stored, "counselor1\ncounselor\nrutan-jakpus")
    assert not sealer.holds("users", "role", row, stored, "counselor1\ncounselor\nrutan-jakpus")
    assert not sealer.holds("users", "authz", row, None, "counselor1\ncounselor\nrutan-jakpus")
    flipped = stored[:-2] + ("A" if stored[-2] != "A" else "B") + stored[-1]
    assert not sealer.holds("users", "authz", row, flipped, "counselor1\ncounselor\nrutan-jakpus")


def test_a_seal_found_to_hold_is_checked_again_once_anything_changes() -> None:
    """The answer remembered for a seal that held serves only its exact row, column,
    seal and value; and what is remembered stays bounded."""
    sealer = ColumnSealer(SECRET)
    row = uuid.uuid4()
    stored = sealer.seal("auth_tokens", "binding", row, "u\nd\n2026-12-03")
    for _ in range(2):  # the second time from memory
        assert sealer.holds("auth_tokens", "binding", row, stored, "u\nd\n2026-12-03")
        assert not sealer.holds("auth_tokens", "binding", row, stored, "u\nd\n2026-12-04")
        assert not sealer.holds("auth_tokens", "binding", uuid.uuid4(), stored, "u\nd\n2026-12-03")
        assert not sealer.holds("auth_tokens", "other", row, stored, "u\nd\n2026-12-03")
    for n in range(ColumnSealer.HELD_REMEMBERED + 10):
        other = uuid.uuid4()
        value = f"value {n}"
        assert sealer.holds("t", "c", other, sealer.seal("t", "c", other, value), value)
    assert len(sealer._held) <= ColumnSealer.HELD_REMEMBERED
    assert sealer.holds("auth_tokens", "binding", row, stored, "u\nd\n2026-12-03")
