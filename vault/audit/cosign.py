"""Witnesses' cosignatures on the vault's signed tree heads, and counting them.

A witness answers ``vault witness cosign`` with one ``cosignature/v1`` line.
``vault audit cosign FILE`` attaches each line to the stored head it verifies
over (the newest heads first), if the line is by a witness the vault is
configured to accept (``audit_witness_keys``). ``vault audit verify`` then
requires ``audit_witness_quorum`` of them on every head older than
``audit_witness_seconds`` (see :mod:`vault.audit.cadence`). Over HTTP a witness
posts its line to the head it cosigned (:func:`cosign_head`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from vault.errors import InvalidInput, NotFound, SignatureInvalid
from vault.transparency import (
    Checkpoint,
    Ed25519Verifier,
    Note,
    NoteMalformed,
    NoteSignature,
    VerifierKey,
)
from vault.transparency.note import COSIGNATURE_V1

__all__ = [
    "WitnessShortfall",
    "attach_cosignature",
    "cosign_head",
    "cosigners",
    "witness_keys",
    "witness_shortfall",
]

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


def _configured(line: str, keys: Sequence[VerifierKey]) -> tuple[NoteSignature, VerifierKey]:
    """The signature line and its witness's key, if the witness is one the vault accepts."""
    try:
        signature = NoteSignature.parse_line(line.rstrip("\n"))
    except NoteMalformed:
        raise InvalidInput("Not a signature line.") from None
    key = next((k for k in keys if (k.name, k.key_id) == (signature.name, signature.key_id)), None)
    if key is None:
        raise SignatureInvalid("The cosignature is not by a configured witness.")
    return signature, key


def _store(cursor: Any, engine: Any, row_id: Any, note: str, signature: NoteSignature) -> bool:
    """Add the line to the stored note unless it is there; False if the row changed meanwhile."""
    parsed = Note.parse(note)
    if any(s.line() == signature.line() for s in parsed.signatures):
        return True
    updated = parsed.with_signatures([signature]).render()
    marker = "%s" if engine.dialect.name == "postgresql" else "?"
    # Compare and set: two witnesses posting at once must not drop each other's line.
    cursor.execute(
        f"UPDATE audit_heads SET note = {marker} WHERE id = {marker} AND note = {marker}",  # noqa: S608  (placeholders only)
        (updated, row_id, note),
    )
    return bool(cursor.rowcount == 1)


def attach_cosignature(
    engine: Any, line: str, keys: Sequence[VerifierKey], verifier: Ed25519Verifier
) -> bool:
    """Attach a witness's cosignature line to the stored head it signs; False if none."""
    signature, key = _configured(line, keys)
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute(_RECENT)
        for row_id, note in cursor.fetchall():
            if key.accepts(Note.parse(str(note)).text, signature, verifier):
                stored = _store(cursor, engine, row_id, str(note), signature)
                connection.commit()
                return stored
        return False
    finally:
        connection.close()


def cosign_head(
    engine: Any, size: int, line: str, keys: Sequence[VerifierKey], verifier: Ed25519Verifier
) -> tuple[int, bool]:
    """Attach a configured witness's cosignature to the signed head of ``size``.

    (configured witnesses that have cosigned that head now, whether the line is
    new). ``NotFound`` without such a head; ``SignatureInvalid`` when the
    witness is not configured or its signature does not verify over the head.
    """
    signature, key = _configured(line, keys)
    marker = "%s" if engine.dialect.name == "postgresql" else "?"
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        for _attempt in range(8):
            cursor.execute(f"SELECT id, note FROM audit_heads WHERE size = {marker}", (size,))  # noqa: S608  (placeholders only)
            row = cursor.fetchone()
            if row is None:
                raise NotFound("No signed tree head of that size.")
            note = str(row[1])
            parsed = Note.parse(note)
            if not key.accepts(parsed.text, signature, verifier):
                raise SignatureInvalid("The cosignature does not verify over that head.")
            new = not any(s.line() == signature.line() for s in parsed.signatures)
            if _store(cursor, engine, row[0], note, signature):
                connection.commit()
                cursor.execute(f"SELECT note FROM audit_heads WHERE size = {marker}", (size,))  # noqa: S608  (placeholders only)
                now = str(cursor.fetchone()[0])
                connection.rollback()
                return cosigners(now, keys, verifier), new
            connection.rollback()
        raise InvalidInput("The head kept changing; try again.")
    finally:
        connection.close()


@dataclass(frozen=True)
class WitnessShortfall:
    """The newest head whose witnesses' time is up, cosigned by fewer than the quorum."""

    size: int
    signed_at: datetime
    cosigned: int
    quorum: int


_NEWEST = "SELECT note FROM audit_heads ORDER BY size DESC LIMIT 64"


def witness_shortfall(
    engine: Any,
    verifier: Ed25519Verifier,
    now: datetime,
    *,
    witnesses: Sequence[VerifierKey],
    quorum: int,
    witness_seconds: float,
) -> WitnessShortfall | None:
    """Whether the quorum of fresh cosignatures is missing (None: it is met, or none is set).

    Reads the 64 newest heads only: the newest one signed more than
    ``witness_seconds`` ago is due, and a cosignature of it or of any later head
    counts (a witness checked consistency from its last head). What a page shows
    on every load; ``vault audit verify`` checks the whole chain.
    """
    if quorum <= 0:
        return None
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute(_NEWEST)
        notes = [str(row[0]) for row in cursor.fetchall()]
        connection.rollback()
    finally:
        connection.close()
    best = 0
    for note in notes:  # newest first
        try:
            best = max(best, cosigners(note, witnesses, verifier))
            signed = Checkpoint.parse(Note.parse(note).text).time
        except NoteMalformed:
            continue  # a damaged head: `vault audit verify` names it
        if signed is None:
            continue
        moment = datetime.fromtimestamp(signed, UTC)
        if (now - moment).total_seconds() > witness_seconds:
            if best >= quorum:
                return None
            size = int(note.split("\n", 2)[1])
            return WitnessShortfall(size, moment, best, quorum)
    return None
