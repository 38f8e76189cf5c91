"""The field ciphertext format: known answers, tampering, binding, key commitment."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault.crypto.fields import (
    HEADER_BYTES,
    MAX_PLAINTEXT_BYTES,
    OVERHEAD_BYTES,
    FieldBinding,
    FieldCipher,
    record_manifest_digest,
)
from vault.crypto.keys import DataKey
from vault.errors import DecryptionFailed

VECTORS = json.loads(Path(__file__).with_name("field_vectors_v1.json").read_text())


def _binding(vector: dict[str, Any]) -> FieldBinding:
    return FieldBinding(
        uuid.UUID(vector["subject_id"]),
        uuid.UUID(vector["record_id"]),
        vector["record_type"],
        vector["field_name"],
        bytes.fromhex(vector["manifest_digest"]),
    )


def _sample() -> tuple[FieldCipher, FieldBinding, bytes]:
    record = uuid.uuid4()
    binding = FieldBinding(
        uuid.uuid4(), record, "family_data", "mother_name",
        record_manifest_digest(record, "family_data", 1, ["mother_name", "father_name"]),
    )  # fmt: skip
    cipher = FieldCipher(DataKey.generate())
    return cipher, binding, cipher.encrypt(b"Siti Aminah", binding)


@pytest.mark.parametrize("vector", VECTORS["valid"], ids=lambda v: v["name"])
def test_known_answer_vectors(vector: dict[str, Any]) -> None:
    """With the vector's key, nonce and binding, encryption gives exactly its bytes and back."""
    binding = _binding(vector)
    nonce = bytes.fromhex(vector["nonce"])
    cipher = FieldCipher(DataKey(bytes.fromhex(vector["key"])), nonce_source=lambda _: nonce)
    digest = record_manifest_digest(
        binding.record_id, binding.record_type, vector["record_version"], vector["record_fields"]
    )
    assert digest.hex() == vector["manifest_digest"]
    assert binding.associated_data().hex() == vector["associated_data"]
    plaintext = bytes.fromhex(vector["plaintext"])
    assert cipher.encrypt(plaintext, binding).hex() == vector["ciphertext"]
    assert cipher.decrypt(bytes.fromhex(vector["ciphertext"]), binding) == plaintext


@pytest.mark.parametrize("vector", VECTORS["tamper"], ids=lambda v: v["name"])
def test_tamper_vectors_fail_opaquely(vector: dict[str, Any]) -> None:
    """Each tampered, moved or wrong-key vector fails with the one opaque error."""
    cipher = FieldCipher(DataKey(bytes.fromhex(vector["key"])))
    with pytest.raises(DecryptionFailed) as caught:
        cipher.decrypt(bytes.fromhex(vector["ciphertext"]), _binding(vector))
    assert str(caught.value) == "Decryption failed."


def test_every_single_bit_flip_in_every_byte_fails() -> None:
    """Flipping any one bit of any byte of a ciphertext makes it fail to decrypt."""
    cipher, binding, ciphertext = _sample()
    for index in range(len(ciphertext)):
        for bit in range(8):
            mutated = bytearray(ciphertext)
            mutated[index] ^= 1 << bit
            with pytest.raises(DecryptionFailed):
                cipher.decrypt(bytes(mutated), binding)


def test_every_truncation_fails() -> None:
    """Every prefix of a ciphertext, and every extension of it, fails."""
    cipher, binding, ciphertext = _sample()
    for length in range(len(ciphertext)):
        with pytest.raises(DecryptionFailed):
            cipher.decrypt(ciphertext[:length], binding)
    with pytest.raises(DecryptionFailed):
        cipher.decrypt(ciphertext + b"\x00", binding)


@given(plaintext=st.binary(max_size=4096), field=st.text(min_size=1, max_size=16))
@settings(max_examples=60, deadline=None)
def test_round_trip(plaintext: bytes, field: str) -> None:
    """Any plaintext round-trips under its binding and grows by exactly the overhead."""
    record = uuid.uuid4()
    binding = FieldBinding(
        uuid.uuid4(), record, "progress_note", field,
        record_manifest_digest(record, "progress_note", 3, [field]),
    )  # fmt: skip
    cipher = FieldCipher(DataKey.generate())
    ciphertext = cipher.encrypt(plaintext, binding)
    assert len(ciphertext) == len(plaintext) + OVERHEAD_BYTES
    assert cipher.decrypt(ciphertext, binding) == plaintext


def test_nonce_is_fresh_for_every_write() -> None:
    """Encrypting the same value twice gives different nonces and ciphertexts."""
    cipher, binding, first = _sample()
    second = cipher.encrypt(b"Siti Aminah", binding)
    assert first != second
    assert first[HEADER_BYTES - 12 : HEADER_BYTES] != second[HEADER_BYTES - 12 : HEADER_BYTES]


def test_ciphertext_under_another_key_is_rejected_before_decryption() -> None:
    """A ciphertext presented to a cipher with another key fails at the commitment check."""
    _, binding, ciphertext = _sample()
    other = FieldCipher(DataKey.generate())
    with pytest.raises(DecryptionFailed):
        other.decrypt(ciphertext, binding)


def test_commitment_differs_per_key_and_is_not_the_key() -> None:
    """The stored commitment is a per-key value that does not reveal the key bytes."""
    key = DataKey.generate()
    record = uuid.uuid4()
    binding = FieldBinding(
        uuid.uuid4(), record, "t", "f", record_manifest_digest(record, "t", 1, ["f"])
    )
    a = FieldCipher(key).encrypt(b"x", binding)
    b = FieldCipher(DataKey.generate()).encrypt(b"x", binding)
    assert a[1:33] != b[1:33]
    assert key.material not in a


def test_manifest_detects_deleted_added_and_duplicated_fields() -> None:
    """Decrypting with the manifest of a record missing, gaining or doubling a field fails."""
    key = DataKey.generate()
    subject, record = uuid.uuid4(), uuid.uuid4()
    names = ["a", "b", "c"]
    digest = record_manifest_digest(record, "needs_assessment", 1, names)
    cipher = FieldCipher(key)
    ciphertext = cipher.encrypt(
        b"value", FieldBinding(subject, record, "needs_assessment", "a", digest)
    )
    for seen in (["a", "b"], ["a", "b", "c", "d"], ["a", "a", "b", "c"], ["c", "b", "a"]):
        seen_digest = record_manifest_digest(record, "needs_assessment", 1, seen)
        binding = FieldBinding(subject, record, "needs_assessment", "a", seen_digest)
        if sorted(seen) == names:
            assert cipher.decrypt(ciphertext, binding) == b"value"  # order does not matter
        else:
            with pytest.raises(DecryptionFailed):
                cipher.decrypt(ciphertext, binding)


def test_lengths_are_capped() -> None:
    """Oversized plaintexts and names are refused; oversized input fails to decrypt."""
    cipher, binding, _ = _sample()
    with pytest.raises(ValueError, match="at most"):
        cipher.encrypt(b"x" * (MAX_PLAINTEXT_BYTES + 1), binding)
    with pytest.raises(ValueError, match="field_name"):
        FieldBinding(uuid.uuid4(), uuid.uuid4(), "t", "f" * 65, b"\x00" * 32)
    with pytest.raises(ValueError, match="manifest_digest"):
        FieldBinding(uuid.uuid4(), uuid.uuid4(), "t", "f", b"\x00" * 31)
    with pytest.raises(DecryptionFailed):
        cipher.decrypt(b"\x01" * (MAX_PLAINTEXT_BYTES + OVERHEAD_BYTES + 1), binding)


def test_field_cipher_hides_its_key() -> None:
    """A FieldCipher neither prints nor pickles its key."""
    import pickle

    cipher, _, _ = _sample()
    assert repr(cipher) == "FieldCipher(<hidden>)"
    with pytest.raises(TypeError):
        pickle.dumps(cipher)
