"""Versioned signing keys: rotate, retire and revoke without breaking what was signed."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vault.crypto.providers.file import FileKeyProvider
from vault.crypto.signing import b64url, b64url_decode, verify_jws
from vault.crypto.signing_keys import CurrentSigner
from vault.errors import KeyUnavailable, SignatureInvalid


def _receipt(moment: datetime) -> dict[str, str]:
    return {"consent_timestamp": moment.isoformat().replace("+00:00", "Z"), "consent_id": "c1"}


def test_rotation_keeps_old_receipts_verifying_by_kid(tmp_path: Path) -> None:
    """After rotate-signing a receipt of the old key verifies against the JWKS by its kid."""
    provider = FileKeyProvider.create(tmp_path)
    signer = CurrentSigner(provider)
    old_kid = signer.key_id
    token = signer.sign_jws(_receipt(datetime.now(UTC)))
    provider.new_signing_key(datetime.now(UTC))
    assert signer.key_id != old_kid
    jwks = signer.jwks()["keys"]
    assert {k["kid"] for k in jwks} >= {old_kid, signer.key_id}
    assert verify_jws(token, jwks)["consent_id"] == "c1"
    new_token = signer.sign_jws(_receipt(datetime.now(UTC)))
    assert json.loads(b64url_decode(new_token.split(".")[0]))["kid"] == signer.key_id
    assert verify_jws(new_token, jwks)["consent_id"] == "c1"


def test_retired_key_refuses_what_is_dated_after_retirement(tmp_path: Path) -> None:
    """A retired key verifies a receipt dated before retired_at, not one dated after (backdating
    with a stolen retired key fails), nor any payload without a date."""
    provider = FileKeyProvider.create(tmp_path)
    old = provider.signer_for(1)
    before = old.sign_jws(_receipt(datetime.now(UTC) - timedelta(days=1)))
    after = old.sign_jws(_receipt(datetime.now(UTC) + timedelta(days=1)))
    undated = old.sign_jws({"consent_id": "c1"})
    provider.new_signing_key(datetime.now(UTC))
    provider.set_signing_registry(lambda r: r.retired(old.key_id, datetime.now(UTC)))
    jwks = provider.signing_registry().jwks()["keys"]
    assert verify_jws(before, jwks)
    for token in (after, undated):
        with pytest.raises(SignatureInvalid):
            verify_jws(token, jwks)


def test_old_and_revoked_keys_sign_nothing_and_revoked_verify_nothing(tmp_path: Path) -> None:
    """A signer object of a key no longer current refuses to sign; a revoked key leaves the JWKS
    and even a JWK copied from before no longer verifies its old receipts."""
    provider = FileKeyProvider.create(tmp_path)
    old = provider.signer_for(1)
    token = old.sign_jws(_receipt(datetime.now(UTC)))
    old_jwk = provider.signing_registry().records[0].public_jwk()
    provider.new_signing_key(datetime.now(UTC))
    with pytest.raises(KeyUnavailable):
        old.sign(b"anything")
    provider.set_signing_registry(lambda r: r.revoked(old.key_id, datetime.now(UTC)))
    registry = FileKeyProvider(tmp_path).signing_registry()
    jwks = registry.jwks()["keys"]
    assert old.key_id not in {k["kid"] for k in jwks}
    with pytest.raises(SignatureInvalid):
        verify_jws(token, jwks)
    revoked_jwk = registry.records[0].public_jwk()
    with pytest.raises(SignatureInvalid):
        verify_jws(token, revoked_jwk)
    assert verify_jws(token, old_jwk)  # only a verifier that never learnt of the revocation
    keyring = json.loads((tmp_path / "keyring.json").read_text())
    assert keyring["signing"][0]["seed"] is None  # the revoked seed is destroyed


def test_current_key_cannot_be_retired_or_revoked(tmp_path: Path) -> None:
    """Retiring or revoking the current signing key is refused (rotate first)."""
    from vault.errors import ConfigurationError

    provider = FileKeyProvider.create(tmp_path)
    kid = provider.signing_registry().current.kid
    for change in ("retired", "revoked"):
        with pytest.raises(ConfigurationError, match="rotate-signing"):
            provider.set_signing_registry(lambda r, c=change: getattr(r, c)(kid, datetime.now(UTC)))


def test_jws_with_unknown_kid_in_a_set_is_refused(tmp_path: Path) -> None:
    """In a JWKS the header's kid chooses the key: a token naming no published kid fails."""
    provider = FileKeyProvider.create(tmp_path)
    other = FileKeyProvider.create(tmp_path / "other")
    token = CurrentSigner(other).sign_jws(_receipt(datetime.now(UTC)))
    provider.new_signing_key(datetime.now(UTC))
    with pytest.raises(SignatureInvalid):
        verify_jws(token, provider.signing_registry().jwks()["keys"])


@pytest.mark.parametrize("segment", [0, 1, 2])
def test_non_canonical_base64url_segments_are_refused(tmp_path: Path, segment: int) -> None:
    """A second spelling of any JWS segment (unused low bits set, padding) is refused."""
    signer = CurrentSigner(FileKeyProvider.create(tmp_path))
    token = signer.sign_jws({"a": 1})
    parts = token.split(".")
    raw = b64url_decode(parts[segment])
    canonical = b64url(raw)
    assert len(canonical) % 4 != 0  # a trailing character with unused bits
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(canonical[-1])
    for flipped in (alphabet[last ^ 1], alphabet[last ^ 2]):
        variant = canonical[:-1] + flipped
        padded = base64.urlsafe_b64decode(variant + "=" * (-len(variant) % 4))
        if padded == raw:
            forged = parts.copy()
            forged[segment] = variant
            with pytest.raises(SignatureInvalid):
                verify_jws(".".join(forged), signer.public_jwk())
    padded_form = parts.copy()
    padded_form[segment] = canonical + "=" * (-len(canonical) % 4)
    with pytest.raises(SignatureInvalid):
        verify_jws(".".join(padded_form), signer.public_jwk())
    assert verify_jws(token, signer.public_jwk()) == {"a": 1}
