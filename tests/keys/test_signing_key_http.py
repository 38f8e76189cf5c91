"""GET /v1/keys/signing publishes the public JWK, to anyone, and never the private key."""

from __future__ import annotations

from litestar.testing import TestClient

from vault.app import create_app
from vault.config import Settings
from vault.crypto.signing import verify_jws
from vault.services import build_services


def test_public_signing_key_verifies_vault_signatures(settings: Settings) -> None:
    """Without a token, the endpoint gives the JWK that verifies the vault's JWS."""
    services = build_services(settings, migrate=True)
    try:
        with TestClient(create_app(settings, services)) as client:
            response = client.get("/v1/keys/signing")
        assert response.status_code == 200
        jwk = response.json()
        assert set(jwk) == {"kty", "crv", "x", "kid", "alg", "use"}
        assert verify_jws(services.signer.sign_jws({"ok": True}), jwk) == {"ok": True}
    finally:
        services.close()
