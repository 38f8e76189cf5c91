"""The handover bundle format, ``vault-handover/1`` (documented in docs/handover.md).

A bundle is one JSON object::

    {"envelope": {...}, "kid": "<sender signing kid>", "signature": "<b64url Ed25519>"}

``signature`` is the sender's Ed25519 signature of ``canonical_json(envelope)``
under the versioned signing key ``kid`` (verified against the sender's JWKS).
The envelope names the bundle and its parties in the clear, and carries the
content sealed with HPKE (RFC 9180, base mode, X25519 / HKDF-SHA256 /
AES-256-GCM) to the recipient's published X25519 key::

    format, bundle_id, sender, recipient, recipient_kid, consent_id,
    created_at, expires_at, sealed (b64url: HPKE enc || ciphertext)

HPKE's ``info`` is ``b"vault-handover/1\\n" + canonical_json(envelope without
sealed)``: every clear member is bound to the ciphertext. The sealed content
is canonical JSON: ``subject`` (the records the consent covers, fields in the
clear for the recipient), ``consent`` (id, purpose, categories, the signed
receipt JWS), ``notice`` (the redisclosure notice, ``id`` and ``en``) and
``export_event_seq`` (the sender's audit sequence number of the export).

This module is pure: no database, no HTTP.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vault.crypto.hpke import HandoverKey, seal
from vault.crypto.signing import (
    b64url,
    b64url_decode,
    canonical_json,
    parse_instant,
    verify_signature,
)
from vault.errors import DecryptionFailed, InvalidInput

__all__ = [
    "BUNDLE_FORMAT",
    "MAX_BUNDLE_CHARS",
    "REDISCLOSURE_NOTICE",
    "BundleRefused",
    "OpenedBundle",
    "open_bundle",
    "read_envelope",
    "seal_bundle",
]

BUNDLE_FORMAT = "vault-handover/1"
MAX_BUNDLE_CHARS = 40 * 1024 * 1024
_ENVELOPE_MEMBERS = (
    "format",
    "bundle_id",
    "sender",
    "recipient",
    "recipient_kid",
    "consent_id",
    "created_at",
    "expires_at",
    "sealed",
)

REDISCLOSURE_NOTICE = {
    "id": (
        "Data ini diserahkan berdasarkan persetujuan subjek data untuk tujuan "
        "kelanjutan rehabilitasi oleh Kemensos (UU No. 27/2022). Penerima tidak boleh "
        "mengungkapkannya kembali kepada pihak lain, atau memakainya untuk tujuan lain, "
        "tanpa persetujuan baru dari subjek data. Jika subjek menarik persetujuannya, "
        "penerima harus berhenti memakai data ini."
    ),
    "en": (
        "These data are handed over under the data subject's consent for the continuation "
        "of rehabilitation by Kemensos (Law No. 27/2022). The recipient must not disclose "
        "them to anyone else, or use them for another purpose, without the data subject's "
        "new consent. If the subject withdraws the consent, the recipient must stop "
        "using these data."
    ),
}


class BundleRefused(InvalidInput):
    """A bundle that may not be imported; ``reason`` is a short stable code."""

    slug = "handover-refused"
    title = "The handover bundle was refused"

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def _info(clear: Mapping[str, Any]) -> bytes:
    return BUNDLE_FORMAT.encode("ascii") + b"\n" + canonical_json(dict(clear))


def seal_bundle(
    *,
    clear: Mapping[str, str],
    recipient_public_raw: bytes,
    content: Mapping[str, Any],
    kid: str,
    sign: Any,
) -> dict[str, Any]:
    """A signed bundle: ``clear`` (every envelope member but ``sealed``) and the content."""
    bound = {**clear, "format": BUNDLE_FORMAT}
    sealed = seal(recipient_public_raw, canonical_json(dict(content)), _info(bound))
    envelope = {**bound, "sealed": b64url(sealed)}
    signature: bytes = sign(canonical_json(envelope))
    return {"envelope": envelope, "kid": kid, "signature": b64url(signature)}


def read_envelope(text: str | bytes) -> tuple[dict[str, str], str, bytes]:
    """The envelope, kid and signature of a bundle's text, checked for shape only."""
    if len(text) > MAX_BUNDLE_CHARS:
        raise BundleRefused("too-large", "the bundle is larger than a bundle may be")
    try:
        document = json.loads(text)
        envelope = document["envelope"]
        kid = document["kid"]
        signature = b64url_decode(document["signature"])
        if not isinstance(envelope, dict) or not isinstance(kid, str):
            raise TypeError("shape")
        if set(envelope) != set(_ENVELOPE_MEMBERS) or not all(
            isinstance(envelope[m], str) for m in _ENVELOPE_MEMBERS
        ):
            raise TypeError("members")
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeError):
        raise BundleRefused("malformed", "not a handover bundle") from None
    if envelope["format"] != BUNDLE_FORMAT:
        raise BundleRefused("malformed", f"unknown format, expected {BUNDLE_FORMAT}")
    return envelope, kid, signature


@dataclass(frozen=True)
class OpenedBundle:
    envelope: dict[str, str]
    kid: str
    expires_at: datetime
    content: dict[str, Any]


def open_bundle(
    text: str | bytes,
    *,
    sender_keys: Sequence[Mapping[str, str]],
    own_organization: str,
    own_key: HandoverKey,
    now: datetime,
) -> OpenedBundle:
    """Verify and decrypt a bundle addressed to this vault, or raise ``BundleRefused``.

    Checked in this order: shape, the sender's signature (by ``kid`` in the
    sender's published keys), the recipient (organisation and key), expiry,
    then decryption with the envelope bound through ``info``.
    """
    envelope, kid, signature = read_envelope(text)
    key = next((k for k in sender_keys if k.get("kid") == kid), None)
    if key is None or not verify_signature(key, canonical_json(envelope), signature):
        raise BundleRefused(
            "bad-signature", "the signature does not verify against the sender's published keys"
        )
    if envelope["recipient"] != own_organization or envelope["recipient_kid"] != own_key.key_id:
        raise BundleRefused("misaddressed", "the bundle is addressed to another vault")
    try:
        expires_at = parse_instant(envelope["expires_at"])
    except ValueError:
        raise BundleRefused("malformed", "expires_at is not an instant") from None
    if expires_at <= now:
        raise BundleRefused("expired", "the bundle expired; ask the sender for a new one")
    clear = {m: envelope[m] for m in _ENVELOPE_MEMBERS if m != "sealed"}
    try:
        plaintext = own_key.open(b64url_decode(envelope["sealed"]), _info(clear))
        content = json.loads(plaintext)
    except (DecryptionFailed, ValueError, binascii.Error):
        raise BundleRefused("undecryptable", "the bundle does not decrypt") from None
    if not isinstance(content, dict):
        raise BundleRefused("malformed", "the content is not an object")
    return OpenedBundle(envelope=envelope, kid=kid, expires_at=expires_at, content=content)
