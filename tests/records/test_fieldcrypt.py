"""``vault.records.fieldcrypt``: a record's fields open only where, and as, they were sealed."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import NamedTuple

import pytest

from vault.crypto.keys import DataKey
from vault.errors import DecryptionFailed
from vault.records.fieldcrypt import open_fields, open_record, reseal_fields, seal_fields

SUBJECT = uuid.UUID(int=1)
RECORD = uuid.UUID(int=2)
VALUES = {"mood": "anxious, sleeps badly", "plan": "weekly session"}


def _seal(dek: DataKey, values: Mapping[str, str] = VALUES) -> dict[str, bytes]:
    return seal_fields(
        dek,
        subject_id=SUBJECT,
        record_id=RECORD,
        record_type="counseling_note",
        version=1,
        values=values,
    )


def _open(
    dek: DataKey,
    stored: Mapping[str, bytes],
    wanted: tuple[str, ...] = ("mood", "plan"),
    **where: object,
) -> dict[str, str]:
    place: dict[str, object] = {
        "subject_id": SUBJECT,
        "record_id": RECORD,
        "record_type": "counseling_note",
        "version": 1,
    }
    place.update(where)
    return open_fields(dek, stored=stored, wanted=wanted, **place)


def test_fields_open_to_their_plaintext_and_hold_none_of_it() -> None:
    """Sealed values carry no plaintext; opened, they are what was written."""
    dek = DataKey.generate()
    stored = _seal(dek)
    assert all(b"anxious" not in blob for blob in stored.values())
    assert _open(dek, stored) == VALUES


def test_only_the_wanted_fields_are_decrypted() -> None:
    """A read allowed one field gets that field and no other."""
    dek = DataKey.generate()
    assert _open(dek, _seal(dek), wanted=("plan",)) == {"plan": "weekly session"}


@pytest.mark.parametrize(
    "where",
    [
        {"subject_id": uuid.UUID(int=9)},
        {"record_id": uuid.UUID(int=9)},
        {"record_type": "health_note"},
        {"version": 2},
    ],
)
def test_ciphertext_moved_to_another_place_fails(where: dict[str, object]) -> None:
    """Copied to another subject, record, type or version, a field does not open."""
    dek = DataKey.generate()
    with pytest.raises(DecryptionFailed):
        _open(dek, _seal(dek), **where)


def test_field_added_or_removed_in_the_store_breaks_every_field() -> None:
    """The manifest binds the set of names: a deleted sibling makes the kept field fail too."""
    dek = DataKey.generate()
    stored = _seal(dek)
    without_mood = {"plan": stored["plan"]}
    with pytest.raises(DecryptionFailed):
        _open(dek, without_mood, wanted=("plan",))
    with_extra = stored | {"extra": stored["mood"]}
    with pytest.raises(DecryptionFailed):
        _open(dek, with_extra, wanted=("plan",))


def test_fields_swapped_between_names_fail() -> None:
    """A value moved under another field name of the same record does not open."""
    dek = DataKey.generate()
    stored = _seal(dek)
    swapped = {"mood": stored["plan"], "plan": stored["mood"]}
    with pytest.raises(DecryptionFailed):
        _open(dek, swapped, wanted=("mood",))


def test_another_key_opens_nothing() -> None:
    """Another subject's data key (or a shredded one replaced) opens nothing."""
    with pytest.raises(DecryptionFailed):
        _open(DataKey.generate(), _seal(DataKey.generate()))


def test_reseal_moves_every_field_to_the_new_key() -> None:
    """After rotation the new key opens every field and the old key none."""
    old, new = DataKey.generate(), DataKey.generate()
    resealed = reseal_fields(
        old,
        new,
        subject_id=SUBJECT,
        record_id=RECORD,
        record_type="counseling_note",
        version=1,
        stored=_seal(old),
    )
    assert _open(new, resealed) == VALUES
    with pytest.raises(DecryptionFailed):
        _open(old, resealed)


class _Row(NamedTuple):
    id: uuid.UUID
    record_type: str
    version: int


def test_a_record_row_opens_every_field_or_the_wanted_ones_and_only_as_itself() -> None:
    """``open_record`` takes the id, type and version from the row: all fields by default,
    the wanted ones when named, and a row naming another version opens nothing."""
    dek = DataKey.generate()
    stored = _seal(dek)
    assert open_record(dek, SUBJECT, _Row(RECORD, "counseling_note", 1), stored) == VALUES
    only = open_record(dek, SUBJECT, _Row(RECORD, "counseling_note", 1), stored, ["plan"])
    assert only == {"plan": "weekly session"}
    with pytest.raises(DecryptionFailed):
        open_record(dek, SUBJECT, _Row(RECORD, "counseling_note", 2), stored)
