"""``GET /v1/keys/signing``: the vault's Ed25519 public key, for verifying receipts offline."""

from __future__ import annotations

from litestar import Request, get

from vault.services import Services


@get(
    "/v1/keys/signing",
    opt={"exclude_from_auth": True},
    tags=["keys"],
    sync_to_thread=False,
    summary="The public signing key (JWK)",
)
def signing_key(request: Request) -> dict[str, str]:  # type: ignore[type-arg]  # any app state
    """The Ed25519 public key (RFC 8037 JWK, ``kid`` = RFC 7638 thumbprint) that signs
    consent receipts and audit checkpoints. Open to anyone: it is public."""
    services: Services = request.app.state.services
    return services.signer.public_jwk()


@get(
    "/v1/keys/jwks",
    opt={"exclude_from_auth": True},
    tags=["keys"],
    sync_to_thread=False,
    summary="Every signing key that may still verify (JWKS)",
)
def signing_jwks(request: Request) -> dict[str, list[dict[str, str]]]:  # type: ignore[type-arg]
    """The JWKS (RFC 7517) of the current, active and retired signing keys; a retired
    key carries ``retired_at`` and verifies only what is dated up to it. Revoked keys
    are left out. Open to anyone: it is public."""
    services: Services = request.app.state.services
    return services.signer.jwks()


KEYS_HANDLERS = [signing_key, signing_jwks]
