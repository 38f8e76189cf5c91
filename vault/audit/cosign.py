"""Witnesses' cosignatures on the vault's signed tree heads, and counting them.

A witness answers ``vault witness cosign`` with one ``cosignature/v1`` line.
``vault audit cosign FILE`` attaches each line to the stored head it verifies
over (the newest heads first), if the line is by a witness the vault is
configured to accept (``audit_witness_keys``). ``vault audit verify`` then
requires ``audit_witness_quorum`` of them on every head older than
``audit_witness_seconds`` (see :mod:`vault.audit.cadence`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from vault.errors import InvalidInput, SignatureInvalid
from vault.transparency import Ed25519Verifier, Note, NoteMalformed, NoteSignature, VerifierKey
from vault.transparency.note import COSIGNATURE_V1

__all__ = ["attach_cosignature", "cosigners", "witness_keys"]

_RECENT = "SELECT id, note FROM audit_heads ORDER BY size DESC LIMIT 16"


def witness_keys(vkeys: Iterable[str]) -> list[VerifierKey]:
    keys = [VerifierKey.parse(vkey) for vkey in vkeys]
    if any(key.type != COSIGNATURE_V1 for key in keys):
        raise InvalidInput("A witness key is a cosignature/v1 key (type 0x04).")
    return keys


def cosigners(note: str, keys: Sequence[VerifierKey], verifier: Ed25519Verifier) -> int:
    """How many of ``keys`` cosigned ``note`` validly."""
    parsed = Note.parse(note)
    count = 0
    for key in keys:
        mine = [s for s in parsed.signatures if (s.name, s.key_id) == (key.name, key.key_id)]
        if any(key.accepts(parsed.text, signature, verifier) for signature in mine):
            count += 1
    return count


def attach_cosignature(
    engine: Any, line: str, keys: Sequence[VerifierKey], verifier: Ed25519Verifier
) -> bool:
    """Attach a witness's cosignature line to the stored head it signs; False if none."""
    try:
        signature = NoteSignature.parse_line(line.rstrip("\n"))
    except NoteMalformed:
        raise InvalidInput("Not a signature line.") from None
    key = next((k for k in keys if (k.name, k.key_id) == (signature.name, signature.key_id)), None)
    if key is None:
        raise SignatureInvalid("The cosignature is not by a configured witness.")
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute(_RECENT)
        for row_id, note in cursor.fetchall():
            parsed = Note.parse(str(note))
            if not key.accepts(parsed.text, signature, verifier):
                continue
            if any(s.line() == signature.line() for s in parsed.signatures):
                return True
            updated = parsed.with_signatures([signature]).render()
            marker = "%s" if engine.dialect.name == "postgresql" else "?"
            cursor.execute(
                f"UPDATE audit_heads SET note = {marker} WHERE id = {marker}",  # noqa: S608  (placeholders only)
                (updated, row_id),
            )
            connection.commit()
            return True
        return False
    finally:
        connection.close()
