"""Ed25519 signatures for consent receipts and audit checkpoints.

The private key is a 32-byte seed held in the key provider's care (see
``KeyProvider.derive_secret``); the public key is published as a JWK (RFC 8037)
whose ``kid`` is its RFC 7638 thumbprint. Tokens are compact JWS (RFC 7515)
with ``alg: EdDSA``; verification accepts no other algorithm.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, NoReturn

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from vault.errors import SignatureInvalid

MAX_JWS_CHARS = 256 * 1024


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    if not text.isascii() or "=" in text:
        raise ValueError("not unpadded base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _json_default(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable in a signed payload")


def canonical_json(value: Any) -> bytes:
    """Compact JSON with sorted keys (stable bytes to sign)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default
    ).encode("utf-8")


def _thumbprint(x: str) -> str:
    # RFC 7638: the required members in lexicographic order, no white space.
    members = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"))
    return b64url(hashlib.sha256(members.encode("ascii")).digest())


class Signer:
    """Signs with one Ed25519 key; shows only its public half."""

    __slots__ = ("_private", "_public_jwk", "key_id")

    def __init__(self, seed: bytes) -> None:
        if len(seed) != 32:
            raise ValueError("an Ed25519 seed is 32 bytes")
        self._private = Ed25519PrivateKey.from_private_bytes(seed)
        raw = self._private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        x = b64url(raw)
        self.key_id: str = _thumbprint(x)
        self._public_jwk = {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": x,
            "kid": self.key_id,
            "alg": "EdDSA",
            "use": "sig",
        }

    def __repr__(self) -> str:
        return f"Signer(key_id={self.key_id!r})"

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Signer cannot be pickled")

    def sign(self, data: bytes) -> bytes:
        """A 64-byte Ed25519 signature of ``data``."""
        return self._private.sign(data)

    def sign_jws(self, payload: Mapping[str, Any]) -> str:
        """Compact JWS of ``payload`` (canonical JSON), header ``{"alg":"EdDSA","kid":...}``."""
        header = b64url(canonical_json({"alg": "EdDSA", "kid": self.key_id}))
        body = b64url(canonical_json(dict(payload)))
        signing_input = f"{header}.{body}".encode("ascii")
        return f"{header}.{body}.{b64url(self.sign(signing_input))}"

    def public_jwk(self) -> dict[str, str]:
        return dict(self._public_jwk)


def _public_key(jwk: Mapping[str, str]) -> Ed25519PublicKey:
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise ValueError("not an Ed25519 JWK")
    raw = b64url_decode(str(jwk.get("x", "")))
    return Ed25519PublicKey.from_public_bytes(raw)


def verify_signature(jwk: Mapping[str, str], data: bytes, signature: bytes) -> bool:
    """True if ``signature`` is the JWK's key's signature of ``data``; False otherwise."""
    try:
        _public_key(jwk).verify(signature, data)
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


def verify_jws(token: str, jwk: Mapping[str, str]) -> dict[str, Any]:
    """The payload of a compact JWS signed by ``jwk``; raises ``SignatureInvalid`` otherwise."""
    try:
        if len(token) > MAX_JWS_CHARS:
            raise ValueError("token too long")
        header_part, body_part, signature_part = token.split(".")
        header = json.loads(b64url_decode(header_part))
        if not isinstance(header, dict) or header.get("alg") != "EdDSA":
            raise ValueError("only alg EdDSA is accepted")
        if "crit" in header:
            raise ValueError("no critical header extensions are understood")
        expected_kid = jwk.get("kid")
        if expected_kid is not None and header.get("kid") != expected_kid:
            raise ValueError("kid does not match")
        signing_input = f"{header_part}.{body_part}".encode("ascii")
        if not verify_signature(jwk, signing_input, b64url_decode(signature_part)):
            raise ValueError("bad signature")
        payload = json.loads(b64url_decode(body_part))
        if not isinstance(payload, dict):
            raise ValueError("payload is not a JSON object")
    except (ValueError, UnicodeError, binascii.Error):
        raise SignatureInvalid("The signature does not verify.") from None
    return payload
