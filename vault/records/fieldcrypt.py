"""Sealing and opening the fields of one record version.

The only module that turns record plaintext into ciphertext and back. Every
field's associated data names the subject, the record, its type, the field and
a digest of the record's field manifest, so a ciphertext moved to another row
or a field deleted or added in the database fails to open.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping

from vault.crypto.fields import FieldBinding, FieldCipher, record_manifest_digest
from vault.crypto.keys import DataKey
from vault.records.rows import RecordColumns


def _manifest(record_id: uuid.UUID, record_type: str, version: int, names: Iterable[str]) -> bytes:
    return record_manifest_digest(record_id, record_type, version, names)


def seal_fields(
    dek: DataKey,
    *,
    subject_id: uuid.UUID,
    record_id: uuid.UUID,
    record_type: str,
    version: int,
    values: Mapping[str, str],
) -> dict[str, bytes]:
    """Encrypt every value; the manifest binds the exact set of field names."""
    cipher = FieldCipher(dek)
    digest = _manifest(record_id, record_type, version, values.keys())
    return {
        name: cipher.encrypt(
            value.encode("utf-8"),
            FieldBinding(subject_id, record_id, record_type, name, digest),
        )
        for name, value in values.items()
    }


def open_fields(
    dek: DataKey,
    *,
    subject_id: uuid.UUID,
    record_id: uuid.UUID,
    record_type: str,
    version: int,
    stored: Mapping[str, bytes],
    wanted: Iterable[str],
) -> dict[str, str]:
    """Decrypt the wanted fields of a record whose stored fields are ``stored``.

    The manifest is recomputed from every stored field name, wanted or not, so a
    field removed or added behind the vault's back makes every field fail.
    Raises ``DecryptionFailed`` (opaque) on any mismatch.
    """
    cipher = FieldCipher(dek)
    digest = _manifest(record_id, record_type, version, stored.keys())
    return {
        name: cipher.decrypt(
            stored[name], FieldBinding(subject_id, record_id, record_type, name, digest)
        ).decode("utf-8")
        for name in wanted
    }


def open_record(
    dek: DataKey,
    subject_id: uuid.UUID,
    record: RecordColumns,
    stored: Mapping[str, bytes],
    wanted: Iterable[str] | None = None,
) -> dict[str, str]:
    """``open_fields`` of one record version's row (``RECORD``'s columns): the ``wanted``
    fields, or every one."""
    return open_fields(
        dek,
        subject_id=subject_id,
        record_id=record.id,
        record_type=record.record_type,
        version=record.version,
        stored=stored,
        wanted=stored.keys() if wanted is None else wanted,
    )


def reseal_fields(
    old: DataKey,
    new: DataKey,
    *,
    subject_id: uuid.UUID,
    record_id: uuid.UUID,
    record_type: str,
    version: int,
    stored: Mapping[str, bytes],
) -> dict[str, bytes]:
    """Every stored field of one record version, re-encrypted from ``old`` to ``new``.

    Key rotation: the plaintext exists only inside this call.
    """
    plain = open_fields(
        old,
        subject_id=subject_id,
        record_id=record_id,
        record_type=record_type,
        version=version,
        stored=stored,
        wanted=stored.keys(),
    )
    return seal_fields(
        new,
        subject_id=subject_id,
        record_id=record_id,
        record_type=record_type,
        version=version,
        values=plain,
    )
