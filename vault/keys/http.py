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


KEYS_HANDLERS = [signing_key]
