"""Ed25519 signing: raw signatures, compact JWS, and attempts to forge them."""

from __future__ import annotations

import os
import pickle

import pytest
from joserfc import jws
from joserfc.errors import SecurityWarning
from joserfc.jwk import OKPKey

from vault.crypto.signing import Signer, b64url, verify_jws, verify_signature
from vault.errors import SignatureInvalid


def test_signature_verifies_and_tampering_does_not() -> None:
    """A signature verifies with the public JWK; a changed message or signature does not."""
    signer = Signer(os.urandom(32))
    jwk = signer.public_jwk()
    signature = signer.sign(b"checkpoint 42")
    assert verify_signature(jwk, b"checkpoint 42", signature)
    assert not verify_signature(jwk, b"checkpoint 43", signature)
    assert not verify_signature(jwk, b"checkpoint 42", bytes(64))
    assert not verify_signature(Signer(os.urandom(32)).public_jwk(), b"checkpoint 42", signature)
    assert not verify_signature({"kty": "RSA"}, b"checkpoint 42", signature)


def test_jws_round_trip_and_kid() -> None:
    """sign_jws gives a compact EdDSA JWS naming the key; verify_jws returns the payload."""
    signer = Signer(os.urandom(32))
    token = signer.sign_jws({"consent_id": "c1", "purposes": ["counseling"]})
    assert token.count(".") == 2
    assert verify_jws(token, signer.public_jwk()) == {
        "consent_id": "c1",
        "purposes": ["counseling"],
    }
    assert signer.public_jwk()["kid"] == signer.key_id


def test_jws_verifies_with_an_independent_library() -> None:
    """joserfc (told to accept EdDSA) verifies the vault's JWS against the published JWK."""
    signer = Signer(os.urandom(32))
    token = signer.sign_jws({"n": 1})
    key = OKPKey.import_key(signer.public_jwk())
    # RFC 9864 prefers the fully specified "Ed25519"; the agreed interface names "EdDSA".
    with pytest.warns(SecurityWarning, match="RFC 9864"):
        result = jws.deserialize_compact(token, key, algorithms=["EdDSA"])
    assert result.protected["alg"] == "EdDSA"
    assert result.payload == b'{"n":1}'


@pytest.mark.parametrize(
    "attack", ["payload", "alg-none", "alg-hs256", "other-key", "garbage", "kid"]
)
def test_forged_jws_is_rejected(attack: str) -> None:
    """Changed payloads, downgraded algorithms, other keys and junk raise SignatureInvalid."""
    signer = Signer(os.urandom(32))
    token = signer.sign_jws({"consent_id": "c1"})
    header, body, signature = token.split(".")
    jwk = signer.public_jwk()
    if attack == "payload":
        token = ".".join((header, b64url(b'{"consent_id":"c2"}'), signature))
    elif attack == "alg-none":
        token = ".".join((b64url(b'{"alg":"none"}'), body, ""))
    elif attack == "alg-hs256":
        token = ".".join((b64url(b'{"alg":"HS256"}'), body, signature))
    elif attack == "other-key":
        token = Signer(os.urandom(32)).sign_jws({"consent_id": "c1"})
        jwk = {k: v for k, v in jwk.items() if k != "kid"}
    elif attack == "garbage":
        token = "not.a.jws!"
    elif attack == "kid":
        jwk = {**jwk, "kid": "someone-else"}
    with pytest.raises(SignatureInvalid):
        verify_jws(token, jwk)


def test_signer_hides_its_private_key() -> None:
    """The Signer's repr shows only the key id, and it refuses to be pickled."""
    seed = os.urandom(32)
    signer = Signer(seed)
    assert seed.hex() not in repr(signer)
    assert "d" not in signer.public_jwk()
    with pytest.raises(TypeError):
        pickle.dumps(signer)


def test_same_seed_same_key_id() -> None:
    """The key id is a stable thumbprint of the public key."""
    seed = os.urandom(32)
    assert Signer(seed).key_id == Signer(seed).key_id
    assert Signer(seed).key_id != Signer(os.urandom(32)).key_id
