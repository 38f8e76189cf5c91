"""HPKE (RFC 9180) for handover bundles: base mode, X25519, HKDF-SHA256, AES-256-GCM.

A vault's handover encryption key is an X25519 key derived from its key
provider (``derive_secret(HANDOVER_KEY_LABEL)``), so it needs no storage of its
own and follows the keyring. Its public half is published as a JWK
(RFC 8037, ``crv: X25519``, ``use: enc``) whose ``kid`` is its RFC 7638
thumbprint. ``seal`` binds the context (sender, recipient, bundle id, times)
through HPKE's ``info``: HPKE single-shot has no associated-data argument, and
an ``info`` that differs by one byte makes ``open_sealed`` fail.

Every failure to open is one ``DecryptionFailed`` with no detail.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import NoReturn

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from vault.crypto.signing import b64url, b64url_decode
from vault.errors import DecryptionFailed

__all__ = [
    "HANDOVER_KEY_LABEL",
    "HandoverKey",
    "open_sealed",
    "public_jwk_key",
    "seal",
    "x25519_key_id",
]

HANDOVER_KEY_LABEL = b"vault/handover/x25519/v1"
# Bundles are documents of one subject; a cap keeps a hostile file from eating memory.
MAX_SEALED_BYTES = 32 * 1024 * 1024

_SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)


def x25519_key_id(public_raw: bytes) -> str:
    """The RFC 7638 thumbprint of an X25519 public key (its ``kid``)."""
    members = json.dumps(
        {"crv": "X25519", "kty": "OKP", "x": b64url(public_raw)}, separators=(",", ":")
    )
    return b64url(hashlib.sha256(members.encode("ascii")).digest())


class HandoverKey:
    """A vault's X25519 handover key; shows only its public half."""

    __slots__ = ("_private", "key_id", "public_raw")

    def __init__(self, secret: bytes) -> None:
        if len(secret) != 32:
            raise ValueError("an X25519 private key is 32 bytes")
        self._private = X25519PrivateKey.from_private_bytes(secret)
        self.public_raw: bytes = self._private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.key_id: str = x25519_key_id(self.public_raw)

    def __repr__(self) -> str:
        return f"HandoverKey(key_id={self.key_id!r})"

    def __reduce__(self) -> NoReturn:
        raise TypeError("a HandoverKey cannot be pickled")

    def public_jwk(self) -> dict[str, str]:
        return {
            "kty": "OKP",
            "crv": "X25519",
            "x": b64url(self.public_raw),
            "kid": self.key_id,
            "use": "enc",
            "alg": "HPKE-Base-X25519-SHA256-AES256GCM",
        }

    def open(self, sealed: bytes, info: bytes) -> bytes:
        """The plaintext of ``sealed`` (HPKE ``enc`` || ciphertext) for this ``info``."""
        return open_sealed(self._private, sealed, info)


def public_jwk_key(jwk: Mapping[str, str]) -> bytes:
    """The raw X25519 public key of a JWK; ``ValueError`` if it is not one."""
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "X25519":
        raise ValueError("not an X25519 JWK")
    raw = b64url_decode(str(jwk.get("x", "")))
    if len(raw) != 32:
        raise ValueError("an X25519 public key is 32 bytes")
    kid = jwk.get("kid")
    if kid is not None and kid != x25519_key_id(raw):
        raise ValueError("the kid is not the key's thumbprint")
    return raw


def seal(recipient_public_raw: bytes, plaintext: bytes, info: bytes) -> bytes:
    """HPKE base-mode single-shot encryption: ``enc`` (32 bytes) || ciphertext."""
    public = X25519PublicKey.from_public_bytes(recipient_public_raw)
    return _SUITE.encrypt(plaintext, public, info=info)


def open_sealed(private: X25519PrivateKey, sealed: bytes, info: bytes) -> bytes:
    if len(sealed) > MAX_SEALED_BYTES:
        raise DecryptionFailed()
    try:
        return _SUITE.decrypt(sealed, private, info=info)
    except (InvalidTag, ValueError, TypeError):
        raise DecryptionFailed() from None
