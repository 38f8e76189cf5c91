"""Writes ``field_vectors_v1.json``: known-answer and tamper vectors of the field format.

Run once when the format is defined (``python tests/crypto/generate_field_vectors.py``);
the tests then check the code against the committed file, so a change of the
format shows up as a failing test, and another implementation can check itself.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from vault.crypto.fields import FieldBinding, FieldCipher, record_manifest_digest
from vault.crypto.keys import DataKey

OUT = Path(__file__).with_name("field_vectors_v1.json")
KEY = bytes(range(32))
OTHER_KEY = bytes(range(32, 64))
SUBJECT = uuid.UUID("00000000-0000-4000-8000-000000000001")
RECORD = uuid.UUID("00000000-0000-4000-8000-000000000002")
FIELDS = ["score", "summary", "notes"]

CASES = [
    ("empty", "psychological_assessment", "notes", b"", bytes(range(12))),
    ("ascii", "psychological_assessment", "score", b"42", bytes(range(100, 112))),
    (
        "utf8",
        "psychological_assessment",
        "summary",
        "Warga binaan menunjukkan kemajuan — baik.".encode(),
        bytes(range(200, 212)),
    ),
    ("one-kib", "psychological_assessment", "notes", bytes(range(256)) * 4, b"\xff" * 12),
]


def _binding(
    record_type: str,
    field: str,
    fields: list[str] = FIELDS,
    subject: uuid.UUID = SUBJECT,
    record: uuid.UUID = RECORD,
    version: int = 1,
) -> tuple[dict[str, Any], FieldBinding]:
    digest = record_manifest_digest(record, record_type, version, fields)
    binding = FieldBinding(subject, record, record_type, field, digest)
    return (
        {
            "subject_id": str(subject),
            "record_id": str(record),
            "record_type": record_type,
            "field_name": field,
            "record_version": version,
            "record_fields": fields,
            "manifest_digest": digest.hex(),
        },
        binding,
    )


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes((data[index] ^ 0x01,)) + data[index + 1 :]


def main() -> None:
    valid: list[dict[str, Any]] = []
    tamper: list[dict[str, Any]] = []
    for name, record_type, field, plaintext, nonce in CASES:
        described, binding = _binding(record_type, field)
        cipher = FieldCipher(DataKey(KEY), nonce_source=lambda n, nonce=nonce: nonce)
        ciphertext = cipher.encrypt(plaintext, binding)
        valid.append(
            {
                "name": name,
                "key": KEY.hex(),
                "nonce": nonce.hex(),
                "plaintext": plaintext.hex(),
                "associated_data": binding.associated_data().hex(),
                "ciphertext": ciphertext.hex(),
                **described,
            }
        )
        if name != "ascii":
            continue

        def add(
            description: str,
            data: bytes,
            key: bytes = KEY,
            record_type: str = record_type,
            field: str = field,
            **where: Any,
        ) -> None:
            described_here, _ = _binding(record_type, **{"field": field, **where})
            tamper.append(
                {"name": description, "key": key.hex(), "ciphertext": data.hex(), **described_here}
            )

        add("version byte 0x02", b"\x02" + ciphertext[1:])
        add("version byte 0x00", b"\x00" + ciphertext[1:])
        add("commitment byte flipped", _flip(ciphertext, 1))
        add("nonce byte flipped", _flip(ciphertext, 33))
        add("ciphertext byte flipped", _flip(ciphertext, 45))
        add("tag byte flipped", _flip(ciphertext, len(ciphertext) - 1))
        add("truncated by one byte", ciphertext[:-1])
        add("header only", ciphertext[:45])
        add("empty", b"")
        add("other key", ciphertext, key=OTHER_KEY)
        add("moved to another subject", ciphertext, subject=uuid.UUID(int=SUBJECT.int + 1))
        add("moved to another record", ciphertext, record=uuid.UUID(int=RECORD.int + 1))
        add("moved to another field", ciphertext, field="summary")
        add("record version changed", ciphertext, version=2)
        add("field deleted from record", ciphertext, fields=["score", "summary"])
        add("field added to record", ciphertext, fields=[*FIELDS, "extra"])
        add("field duplicated in record", ciphertext, fields=[*FIELDS, "score"])
        tamper.append(
            {
                **{k: v for k, v in tamper[-1].items() if k != "name"},
                "name": "moved to another record type",
                **_binding("family_data", field)[0],
            }
        )
    document = {
        "format": "vault field ciphertext, version 1 (see README.md, Field ciphertext format)",
        "valid": valid,
        "tamper": tamper,
    }
    OUT.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
