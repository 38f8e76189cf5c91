"""The vault's Ed25519 signer seen through the transparency log's small signing protocol."""

from __future__ import annotations

import hashlib

from vault.crypto.signing import Signer, b64url, b64url_decode, verify_signature


class VaultEd25519:
    """An ``Ed25519Signer`` backed by :class:`vault.crypto.signing.Signer`."""

    def __init__(self, label: str) -> None:
        self._signer = Signer(hashlib.sha256(label.encode()).digest())
        self.public_key = b64url_decode(self._signer.public_jwk()["x"])

    def sign(self, message: bytes) -> bytes:
        return self._signer.sign(message)

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url(public_key)}
        return verify_signature(jwk, message, signature)


VERIFIER = VaultEd25519("a verifier holds no key it uses")
