"""C2SP signed notes: a text ending in a newline, a blank line, then signature lines.

::

    <text, one or more lines, each ending in a newline>
    <blank line>
    — <key name> <base64(key ID (4 bytes) || signature)>
    ...

The key ID of an Ed25519 key is ``SHA-256(name || 0x0A || type || public key)[:4]``
with ``type`` 0x01 for a note signature and 0x04 for a timestamped
``cosignature/v1`` (c2sp.org/tlog-cosignature), whose signed message is
``"cosignature/v1\\ntime <t>\\n" || text`` and whose signature is
``t (8 bytes, big-endian) || Ed25519 signature``.

This module computes no signature itself: signing and verifying go through
:class:`Ed25519Signer` and :class:`Ed25519Verifier`, which the vault's key
custody implements. Key IDs, names and hashes here are public values.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from vault.errors import SignatureInvalid
from vault.transparency.errors import NoteMalformed

ED25519 = 0x01
COSIGNATURE_V1 = 0x04
MAX_NOTE_BYTES = 64 * 1024
MAX_SIGNATURES = 100  # the format asks verifiers to accept at least 16
MAX_TIMESTAMP = 2**63 - 1
_DASH = "\u2014 "


class Ed25519Verifier(Protocol):
    """Verifies an Ed25519 signature by any public key."""

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        """True only if ``signature`` is ``public_key``'s signature of ``message``."""
        ...


class Ed25519Signer(Ed25519Verifier, Protocol):
    """Signs with one Ed25519 key whose raw 32-byte public key it shows."""

    @property
    def public_key(self) -> bytes:
        """The raw 32-byte public key (RFC 8032)."""
        ...

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``message``."""
        ...


def b64decode_strict(text: str, *, size: int | None = None) -> bytes:
    """Standard base64 (RFC 4648 §4) in its one canonical form, optionally of ``size`` bytes."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise NoteMalformed("not standard base64") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise NoteMalformed("not canonical base64")
    if size is not None and len(raw) != size:
        raise NoteMalformed(f"expected {size} bytes of base64")
    return raw


def b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def check_key_name(name: str) -> str:
    """A key name: non-empty, no Unicode space, no plus sign."""
    if not name or "+" in name or any(ch.isspace() for ch in name) or _has_control(name):
        raise NoteMalformed("a key name is non-empty, without spaces or '+'")
    return name


def _has_control(text: str) -> bool:
    return any(ord(ch) < 0x20 and ch != "\n" for ch in text)


def cosignature_message(text: str, timestamp: int) -> bytes:
    """What a ``cosignature/v1`` signs: a header, the time, then the whole note text."""
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


@dataclass(frozen=True, slots=True)
class VerifierKey:
    """A public key that may sign notes: its name, signature type and raw key."""

    name: str
    public_key: bytes
    type: int = ED25519

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if self.type not in (ED25519, COSIGNATURE_V1):
            raise NoteMalformed("only Ed25519 (0x01) and cosignature/v1 (0x04) keys are known")
        if len(self.public_key) != 32:
            raise NoteMalformed("an Ed25519 public key is 32 bytes")

    @property
    def key_id(self) -> bytes:
        """SHA-256(name || 0x0A || type || public key)[:4]."""
        material = self.name.encode() + b"\n" + bytes([self.type]) + self.public_key
        return hashlib.sha256(material).digest()[:4]

    def __str__(self) -> str:
        """The vkey: ``<name>+<hex key ID>+<base64(type || public key)>``."""
        return f"{self.name}+{self.key_id.hex()}+{b64encode(bytes([self.type]) + self.public_key)}"

    @classmethod
    def parse(cls, vkey: str) -> VerifierKey:
        """Read a vkey; the key ID it shows must be the one its key has."""
        parts = vkey.split("+", 2)  # the base64 part may itself hold "+"
        if len(parts) != 3 or len(parts[1]) != 8 or parts[1] != parts[1].lower():
            raise NoteMalformed("a vkey is <name>+<8 hex digits>+<base64 key>")
        raw = b64decode_strict(parts[2])
        if len(raw) < 1:
            raise NoteMalformed("a vkey carries a signature type and a key")
        key = cls(parts[0], raw[1:], raw[0])
        if key.key_id.hex() != parts[1]:
            raise NoteMalformed("the vkey's key ID is not its key's")
        return key

    def accepts(self, text: str, signature: NoteSignature, verifier: Ed25519Verifier) -> bool:
        """Whether ``signature`` (already matched by name and key ID) verifies over ``text``."""
        body = signature.signature
        if self.type == ED25519:
            return len(body) == 64 and verifier.verify(self.public_key, text.encode(), body)
        if len(body) != 72 or signature.timestamp is None or signature.timestamp > MAX_TIMESTAMP:
            return False
        message = cosignature_message(text, signature.timestamp)
        return verifier.verify(self.public_key, message, body[8:])


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line: the key name, the key ID and the signature bytes after it."""

    name: str
    key_id: bytes
    signature: bytes

    @property
    def timestamp(self) -> int | None:
        """The cosignature time (POSIX seconds) if the signature is shaped like a cosignature."""
        return int.from_bytes(self.signature[:8], "big") if len(self.signature) == 72 else None

    def line(self) -> str:
        return f"{_DASH}{self.name} {b64encode(self.key_id + self.signature)}\n"

    @classmethod
    def parse_line(cls, line: str) -> NoteSignature:
        """Read one signature line, without its newline."""
        if not line.startswith(_DASH):
            raise NoteMalformed("a signature line starts with an em dash and a space")
        parts = line[len(_DASH) :].split(" ")
        if len(parts) != 2:
            raise NoteMalformed("a signature line is '— <name> <base64>'")
        name, raw = check_key_name(parts[0]), b64decode_strict(parts[1])
        if len(raw) < 5:
            raise NoteMalformed("a signature carries a key ID and at least one byte")
        return cls(name, raw[:4], raw[4:])


@dataclass(frozen=True, slots=True)
class Note:
    """A signed note: its text (ending in a newline) and its signatures, in order."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def __post_init__(self) -> None:
        check_note_text(self.text)
        if len(self.signatures) > MAX_SIGNATURES:
            raise NoteMalformed(f"more than {MAX_SIGNATURES} signatures")

    def render(self) -> str:
        return self.text + "\n" + "".join(s.line() for s in self.signatures)

    @classmethod
    def parse(cls, note: str | bytes) -> Note:
        """Read a signed note strictly: any deviation from the format is refused."""
        if isinstance(note, bytes):
            if len(note) > MAX_NOTE_BYTES:
                raise NoteMalformed("the note is too long")
            try:
                note = note.decode("utf-8")
            except UnicodeDecodeError:
                raise NoteMalformed("a note is UTF-8") from None
        try:
            encoded = note.encode("utf-8")
        except UnicodeEncodeError:
            raise NoteMalformed("a note is UTF-8") from None
        if len(encoded) > MAX_NOTE_BYTES:
            raise NoteMalformed("the note is too long")
        if _has_control(note) or not note.endswith("\n"):
            raise NoteMalformed("a note has no control character but newlines, and ends in one")
        split = note.rfind("\n\n")
        if split < 0:
            raise NoteMalformed("a note has a blank line before its signatures")
        lines = note[split + 2 : -1].split("\n")
        if lines == [""]:
            raise NoteMalformed("a note has at least one signature")
        if len(lines) > MAX_SIGNATURES:
            raise NoteMalformed(f"more than {MAX_SIGNATURES} signatures")
        return cls(note[: split + 1], tuple(NoteSignature.parse_line(line) for line in lines))

    def with_signatures(self, extra: Iterable[NoteSignature]) -> Note:
        """The same note with more signatures after its own."""
        return Note(self.text, (*self.signatures, *extra))


def check_note_text(text: str) -> str:
    """A note text: non-empty UTF-8 ending in a newline, no control character but newlines."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise NoteMalformed("a note is UTF-8") from None
    if not text.endswith("\n") or _has_control(text) or text.startswith("\n"):
        raise NoteMalformed("a note text is non-empty and ends in a newline")
    return text


def sign_text(text: str, name: str, signer: Ed25519Signer) -> NoteSignature:
    """An Ed25519 note signature (type 0x01) of ``text`` by ``signer`` under ``name``."""
    check_note_text(text)
    key = VerifierKey(name, signer.public_key, ED25519)
    return NoteSignature(name, key.key_id, signer.sign(text.encode()))


def cosign_text(text: str, name: str, signer: Ed25519Signer, timestamp: int) -> NoteSignature:
    """A ``cosignature/v1`` (type 0x04) of ``text`` at ``timestamp`` (POSIX seconds)."""
    check_note_text(text)
    if not 0 < timestamp <= MAX_TIMESTAMP:
        raise ValueError("a cosignature's timestamp is a positive POSIX time")
    key = VerifierKey(name, signer.public_key, COSIGNATURE_V1)
    body = signer.sign(cosignature_message(text, timestamp))
    return NoteSignature(name, key.key_id, timestamp.to_bytes(8, "big") + body)


def open_note(
    note: Note, keys: Iterable[VerifierKey], verifier: Ed25519Verifier
) -> tuple[VerifierKey, ...]:
    """The known keys whose signatures verify on ``note``, in the note's order.

    Signatures by unknown keys (name and key ID not both matching) are
    ignored. If a known key's signature fails, or none verifies, the note is
    refused with an opaque :class:`SignatureInvalid`.
    """
    known = {(key.name, key.key_id): key for key in keys}
    verified: list[VerifierKey] = []
    for signature in note.signatures:
        key = known.get((signature.name, signature.key_id))
        if key is None:
            continue
        if not key.accepts(note.text, signature, verifier):
            raise SignatureInvalid("The note's signature does not verify.")
        if key not in verified:
            verified.append(key)
    if not verified:
        raise SignatureInvalid("The note's signature does not verify.")
    return tuple(verified)
