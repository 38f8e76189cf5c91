"""The vault's Ed25519 public keys, for verifying receipts and checkpoints offline.

Both routes are open to anyone and ask no access decision: the keys are public.
"""

from __future__ import annotations

from litestar import get
from litestar.di import NamedDependency

from vault.crypto.signing_keys import CurrentSigner
from vault.http.gate import ASKS_NOTHING

PUBLIC_KEYS = {"exclude_from_auth": True, ASKS_NOTHING: "public keys, published for anyone"}


@get(
    "/v1/keys/signing",
    opt=PUBLIC_KEYS,
    tags=["keys"],
    sync_to_thread=False,
    summary="The public signing key (JWK)",
)
def signing_key(signer: NamedDependency[CurrentSigner]) -> dict[str, str]:
    """The current Ed25519 public key (RFC 8037 JWK, ``kid`` = RFC 7638 thumbprint).

    It signs consent receipts and audit checkpoints. Open to anyone: it is public.
    """
    return signer.public_jwk()


@get(
    "/v1/keys/jwks",
    opt=PUBLIC_KEYS,
    tags=["keys"],
    sync_to_thread=False,
    summary="Every signing key that may still verify (JWKS)",
)
def signing_jwks(signer: NamedDependency[CurrentSigner]) -> dict[str, list[dict[str, str]]]:
    """The JWKS (RFC 7517) of the current, active and retired signing keys.

    A retired key carries ``retired_at`` and verifies only what is dated up to it.
    Revoked keys are left out. Open to anyone: it is public.
    """
    return signer.jwks()


KEYS_HANDLERS = [signing_key, signing_jwks]
