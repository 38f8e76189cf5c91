"""Field crypto: the vault's field cipher against raw AES-GCM, sqlalchemy-utils and Fernet.

Each operation is timed on the same plaintext (64 B, 1 KiB, 16 KiB of text)
with a fresh random nonce per encryption, as in use. Raw ``AESGCM`` with a
96-bit nonce and associated data of the same size as the vault's binding is
the baseline: the floor any AES-GCM field layer can reach.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from typing import Any

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bench.common import Mode, Row, Section, main, need, pick, sample_batched

SIZES = {"64 B": 64, "1 KiB": 1024, "16 KiB": 16 * 1024}
FIELDS_PER_RECORD = 5


def _text(size: int) -> str:
    # Printable text: StringEncryptedType takes str, and field values are text.
    alphabet = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789."
    return "".join(alphabet[b % len(alphabet)] for b in os.urandom(size))


def run(mode: Mode) -> Section:
    fields = need("vault.crypto.fields", "the field cipher (issue 3, vault/crypto/fields.py)")
    keys = need("vault.crypto.keys", "data keys (issue 3, vault/crypto/keys.py)")
    from sqlalchemy import String
    from sqlalchemy_utils.types.encrypted.encrypted_type import AesGcmEngine, StringEncryptedType

    section = Section(name="crypto", title="Field crypto")
    budget = pick(mode, 0.3, 1.0, 2.0)
    dek = keys.DataKey.generate()
    cipher = fields.FieldCipher(dek)
    binding = fields.FieldBinding(
        uuid.uuid4(),
        uuid.uuid4(),
        "psychological_assessment",
        "summary",
        fields.record_manifest_digest(uuid.uuid4(), "psychological_assessment", 1, ["summary"]),
    )
    # Associated data of the same length as the vault's binding, so only the layer differs.
    aad = os.urandom(16 + 16 + len("psychological_assessment") + len("summary") + 32)
    raw_key = os.urandom(32)
    raw = AESGCM(raw_key)
    fernet = Fernet(Fernet.generate_key())
    column = StringEncryptedType(String, raw_key.hex(), AesGcmEngine)

    for label, size in SIZES.items():
        _one_size(section, label, size, budget, cipher, binding, aad, raw, fernet, column)

    _record_read(section, keys, budget)
    section.notes.append(
        "ratios are time against raw AESGCM (above 1 = slower); the vault's extra work is the "
        "key-commitment check and building the associated data from the binding"
    )
    return section


def _one_size(
    section: Section,
    label: str,
    size: int,
    budget: float,
    cipher: Any,
    binding: Any,
    aad: bytes,
    raw: AESGCM,
    fernet: Fernet,
    column: Any,
) -> None:
    from sqlalchemy.dialects import sqlite

    dialect = sqlite.dialect()
    text = _text(size)
    data = text.encode()
    batch = 200 if size <= 1024 else 50

    def time_it(fn: Callable[[], object]) -> float:
        samples = sample_batched(fn, batch=batch, max_batches=200, max_seconds=budget)
        return sorted(samples)[len(samples) // 2] * 1e6

    nonce = os.urandom(12)
    raw_ct = nonce + raw.encrypt(nonce, data, aad)
    vault_ct = cipher.encrypt(data, binding)
    fernet_ct = fernet.encrypt(data)
    sut_ct = column.process_bind_param(text, dialect)
    if cipher.decrypt(vault_ct, binding) != data:
        raise RuntimeError("the vault cipher did not round-trip")
    if column.process_result_value(sut_ct, dialect) != text:
        raise RuntimeError("StringEncryptedType did not round-trip")

    sut = "sqlalchemy-utils StringEncryptedType (AES-GCM)"
    enc: dict[str, Callable[[], object]] = {
        "raw AESGCM": lambda: raw.encrypt(os.urandom(12), data, aad),
        "vault FieldCipher": lambda: cipher.encrypt(data, binding),
        sut: lambda: column.process_bind_param(text, dialect),
        "Fernet": lambda: fernet.encrypt(data),
    }
    dec: dict[str, Callable[[], object]] = {
        "raw AESGCM": lambda: raw.decrypt(raw_ct[:12], raw_ct[12:], aad),
        "vault FieldCipher": lambda: cipher.decrypt(vault_ct, binding),
        sut: lambda: column.process_result_value(sut_ct, dialect),
        "Fernet": lambda: fernet.decrypt(fernet_ct),
    }
    for op, candidates in (("encrypt", enc), ("decrypt", dec)):
        medians = {name: time_it(fn) for name, fn in candidates.items()}
        base = medians.pop("raw AESGCM")
        for name, value in medians.items():
            section.rows.append(
                Row("field crypto", f"{op} {label}", name, value, "raw AESGCM", base, "µs")
            )
    section.notes.append(
        f"{label}: stored size vault {len(vault_ct)} B, raw AES-GCM {len(raw_ct)} B, "
        f"StringEncryptedType {len(sut_ct)} B (base64), Fernet {len(fernet_ct)} B (base64)"
    )


def _record_read(section: Section, keys: object, budget: float) -> None:
    """Opening one record's fields as the records service does, against raw AES-GCM."""
    try:
        from vault.records.fieldcrypt import open_fields, seal_fields
    except ImportError as exc:
        section.notes.append(f"records field layer not measured: {exc}")
        return
    dek = keys.DataKey.generate()  # type: ignore[attr-defined]  # module checked by need()
    subject_id, record_id = uuid.uuid4(), uuid.uuid4()
    values = {f"field_{i}": _text(200) for i in range(FIELDS_PER_RECORD)}
    stored = seal_fields(
        dek,
        subject_id=subject_id,
        record_id=record_id,
        record_type="bench",
        version=1,
        values=values,
    )
    raw = AESGCM(os.urandom(32))
    aad = os.urandom(100)
    raw_stored = []
    for value in values.values():
        nonce = os.urandom(12)
        raw_stored.append((nonce, raw.encrypt(nonce, value.encode(), aad)))

    def vault_open() -> object:
        return open_fields(
            dek,
            subject_id=subject_id,
            record_id=record_id,
            record_type="bench",
            version=1,
            stored=stored,
            wanted=list(stored),
        )

    def raw_open() -> object:
        return [raw.decrypt(n, c, aad).decode() for n, c in raw_stored]

    v = sample_batched(vault_open, batch=100, max_batches=200, max_seconds=budget)
    b = sample_batched(raw_open, batch=100, max_batches=200, max_seconds=budget)
    section.rows.append(
        Row(
            "field crypto",
            f"open a record of {FIELDS_PER_RECORD} x 200 B fields",
            "vault open_fields",
            sorted(v)[len(v) // 2] * 1e6,
            f"{FIELDS_PER_RECORD} raw AESGCM decrypts",
            sorted(b)[len(b) // 2] * 1e6,
            "µs",
        )
    )


if __name__ == "__main__":
    main("crypto", run)
