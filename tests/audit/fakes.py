"""A stand-in checkpoint signer for tests that do not need real Ed25519.

HMAC-SHA256 from the standard library: it satisfies ``CheckpointSigner`` and the
verifier signature, so the audit tests exercise signing without depending on
(or re-implementing) ``vault.crypto``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping


class HmacSigner:
    def __init__(self, secret: bytes = b"audit-test-key", key_id: str = "test-key-1") -> None:
        self._secret = secret
        self.key_id = key_id
        self.signed = 0

    def sign(self, data: bytes) -> bytes:
        self.signed += 1
        return hmac.new(self._secret, data, hashlib.sha256).digest()

    def public_jwk(self) -> dict[str, str]:
        return {"kty": "test-hmac", "kid": self.key_id, "k": self._secret.hex()}


def hmac_verifier(jwk: Mapping[str, str], data: bytes, signature: bytes) -> bool:
    expected = hmac.new(bytes.fromhex(jwk["k"]), data, hashlib.sha256).digest()
    return hmac.compare_digest(expected, signature)
