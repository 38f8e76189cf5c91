"""Ed25519 signatures for consent receipts and audit checkpoints.

Signing keys are versioned and live in the key provider (a seed in the
keyring, or a non-extractable key inside the PKCS#11 token). Each public key is
published as a JWK (RFC 8037) whose ``kid`` is its RFC 7638 thumbprint; the set
of keys that may still verify is a JWKS. A key is ``current`` (signs),
``active`` (a former current key: verifies, signs nothing new), ``retired``
(verifies only what is dated up to its ``retired_at``) or ``revoked``
(verifies nothing, not published). Tokens are compact JWS (RFC 7515) with
``alg: EdDSA``; verification accepts no other algorithm, and every segment
must be canonical unpadded base64url (one signature, one spelling).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, NoReturn

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from vault.errors import SignatureInvalid

MAX_JWS_CHARS = 256 * 1024
_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict unpadded base64url: only the alphabet, no padding, and only the
    canonical spelling (the unused low bits of the last character must be zero),
    so one byte string has exactly one text form."""
    if not isinstance(text, str) or not _B64URL.match(text) or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url(data) != text:
        raise ValueError("not canonical base64url")
    return data


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


def public_from_seed(seed: bytes) -> bytes:
    """The raw 32-byte Ed25519 public key of a 32-byte seed."""
    return (
        Ed25519PrivateKey.from_private_bytes(seed)
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )


def key_id_of(public_raw: bytes) -> str:
    """The ``kid`` of a raw Ed25519 public key (its RFC 7638 thumbprint)."""
    return _thumbprint(b64url(public_raw))


class Signer:
    """Signs with one Ed25519 key; shows only its public half.

    ``Signer(seed)`` holds the key in process; ``Signer.external(public, sign)``
    signs through a callable (a key inside a PKCS#11 token).
    """

    __slots__ = ("_public_jwk", "_sign", "key_id")

    def __init__(self, seed: bytes) -> None:
        if len(seed) != 32:
            raise ValueError("an Ed25519 seed is 32 bytes")
        private = Ed25519PrivateKey.from_private_bytes(seed)
        self._setup(public_from_seed(seed), private.sign)

    @classmethod
    def external(cls, public_raw: bytes, sign: Callable[[bytes], bytes]) -> Signer:
        """A signer whose private key lives elsewhere; ``sign`` returns a raw signature."""
        signer = cls.__new__(cls)
        signer._setup(public_raw, sign)
        return signer

    def _setup(self, public_raw: bytes, sign: Callable[[bytes], bytes]) -> None:
        if len(public_raw) != 32:
            raise ValueError("an Ed25519 public key is 32 bytes")
        self._sign = sign
        x = b64url(public_raw)
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
        signature = self._sign(data)
        if len(signature) != 64:
            raise ValueError("an Ed25519 signature is 64 bytes")
        return signature

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


JwkSet = Sequence[Mapping[str, str]]

# The payload member that dates a signed document, by kind: a retired key
# verifies only documents dated up to its ``retired_at``.
SIGNED_TIME_MEMBERS = ("consent_timestamp", "iat", "time")


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant with a zone (``Z`` allowed), as an aware UTC datetime."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("a signed time needs a zone")
    return moment.astimezone(UTC)


def key_allows(jwk: Mapping[str, str], signed_at: datetime | None) -> bool:
    """Whether ``jwk`` may verify a document signed at ``signed_at``.

    A key with ``retired_at`` verifies only documents dated no later than it, and
    none that carry no date; a ``revoked`` key verifies nothing.
    """
    if jwk.get("status") == SigningState.REVOKED:
        return False
    retired_at = jwk.get("retired_at")
    if retired_at is None:
        return True
    if signed_at is None:
        return False
    try:
        return signed_at <= parse_instant(str(retired_at))
    except ValueError:
        return False


def _signed_time(payload: Mapping[str, Any]) -> datetime | None:
    for member in SIGNED_TIME_MEMBERS:
        value = payload.get(member)
        if isinstance(value, str):
            return parse_instant(value)
    return None


def read_key_set(document: Any) -> list[dict[str, str]]:
    """The keys of a JWKS (``{"keys": [...]}``) or of a single JWK, as string maps."""
    if isinstance(document, dict) and isinstance(document.get("keys"), list):
        keys = document["keys"]
    elif isinstance(document, dict):
        keys = [document]
    else:
        raise ValueError("expected a JWK or a JWKS (a JSON object)")
    result = []
    for jwk in keys:
        if not isinstance(jwk, dict):
            raise ValueError("every key of a JWKS is a JSON object")
        result.append({str(k): str(v) for k, v in jwk.items() if v is not None})
    return result


def verify_jws(token: str, keys: Mapping[str, str] | JwkSet) -> dict[str, Any]:
    """The payload of a compact JWS signed by one of ``keys`` (a JWK or a list of JWKs).

    The key is chosen by the header's ``kid``; a retired key verifies only a
    payload dated no later than its ``retired_at``. Raises ``SignatureInvalid``
    (one answer for every failure) otherwise.
    """
    key_set: JwkSet = [keys] if isinstance(keys, Mapping) else keys
    try:
        if len(token) > MAX_JWS_CHARS:
            raise ValueError("token too long")
        header_part, body_part, signature_part = token.split(".")
        header = json.loads(b64url_decode(header_part))
        if not isinstance(header, dict) or header.get("alg") != "EdDSA":
            raise ValueError("only alg EdDSA is accepted")
        if "crit" in header:
            raise ValueError("no critical header extensions are understood")
        kid = header.get("kid")
        candidates = [jwk for jwk in key_set if jwk.get("kid") is None or jwk.get("kid") == kid]
        if len(key_set) > 1:
            # In a set, the key must be named: no trying every key.
            candidates = [jwk for jwk in candidates if jwk.get("kid") == kid]
        signing_input = f"{header_part}.{body_part}".encode("ascii")
        signature = b64url_decode(signature_part)
        signer = next(
            (jwk for jwk in candidates if verify_signature(jwk, signing_input, signature)), None
        )
        if signer is None:
            raise ValueError("bad signature")
        payload = json.loads(b64url_decode(body_part))
        if not isinstance(payload, dict):
            raise ValueError("payload is not a JSON object")
        if not key_allows(signer, _signed_time(payload)):
            raise ValueError("signed after the key was retired")
    except (ValueError, TypeError, UnicodeError, binascii.Error):
        raise SignatureInvalid("The signature does not verify.") from None
    return payload


class SigningState(StrEnum):
    CURRENT = "current"
    ACTIVE = "active"
    RETIRED = "retired"
    REVOKED = "revoked"
