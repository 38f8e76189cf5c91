"""GET /v1/keys/signing publishes the current public JWK and GET /v1/keys/jwks every key that
still verifies, to anyone, and never a private key."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from litestar.testing import TestClient

from vault.app import create_app
from vault.cli import main
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


def test_jwks_lists_current_and_retired_keys_and_cli_verifies_with_it(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """After rotation /v1/keys/signing still answers the current JWK, /v1/keys/jwks holds both
    keys, and `vault consent verify --key JWKS` accepts an old receipt but not a forged kid."""
    services = build_services(settings, migrate=True)
    try:
        moment = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        old_receipt = services.signer.sign_jws({"consent_timestamp": moment, "purposes": []})
        services.keys.new_signing_key(datetime.now(UTC))
        with TestClient(create_app(settings, services)) as client:
            current = client.get("/v1/keys/signing").json()
            jwks = client.get("/v1/keys/jwks").json()
        assert current["kid"] == services.signer.key_id
        assert [k["status"] for k in jwks["keys"]] == ["active", "current"]
    finally:
        services.close()
    (tmp_path / "receipt.jws").write_text(old_receipt)
    (tmp_path / "jwks.json").write_text(json.dumps(jwks))
    (tmp_path / "jwk.json").write_text(json.dumps(current))
    key = str(tmp_path / "jwks.json")
    assert main(["consent", "verify", str(tmp_path / "receipt.jws"), "--key", key]) == 0
    only_current = ["consent", "verify", str(tmp_path / "receipt.jws"), "--key"]
    assert main([*only_current, str(tmp_path / "jwk.json")]) == 1
    capsys.readouterr()
