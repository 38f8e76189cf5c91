"""Signing keys for the ``pkcs11`` key provider: Ed25519 key pairs made inside the
token (``CKM_EDDSA``) when it can, otherwise seeds derived from ``vault-root``;
their states live in the data object ``vault-signing-registry``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from vault.crypto.providers.base import (
    SIGNING_SEED_LABEL,
    SigningRegistryChange,
    unavailable,
)
from vault.crypto.providers.pkcs11_checks import TokenChecks
from vault.crypto.signing import Signer, SigningState, b64url, public_from_seed
from vault.crypto.signing_keys import SigningKeyRecord, SigningRegistry
from vault.errors import ConfigurationError

REGISTRY_LABEL = "vault-signing-registry"
SIGN_LABEL_PREFIX = "vault-sign-v"

_ED25519_OID = "1.3.101.112"


def _derived_seed_label(version: int) -> bytes:
    return SIGNING_SEED_LABEL if version == 1 else f"vault/signing/ed25519/v{version}".encode()


class SigningKeys(TokenChecks):
    """The signing-key half of the PKCS#11 provider (a mixin)."""

    if TYPE_CHECKING:

        def derive_secret(self, label: bytes) -> bytes: ...

    def eddsa_in_token(self) -> bool:
        """Whether the token makes and uses Ed25519 keys itself (CKM_EDDSA)."""
        p11 = self._p11
        try:
            mechanisms = self._session.token.slot.get_mechanisms()
        except p11.exceptions.PKCS11Error:
            return False
        return (
            p11.Mechanism.EDDSA in mechanisms
            and p11.Mechanism.EC_EDWARDS_KEY_PAIR_GEN in mechanisms
        )

    def _registry_objects(self) -> list[Any]:
        p11 = self._p11
        attr = p11.Attribute
        return list(
            self._session.get_objects(
                {attr.CLASS: p11.ObjectClass.DATA, attr.LABEL: REGISTRY_LABEL}
            )
        )

    def _read_registry(self) -> tuple[SigningRegistry, dict[int, bool]] | None:
        objects = self._registry_objects()
        if not objects:
            return None
        if len(objects) > 1:
            raise ConfigurationError(f"the PKCS#11 token holds two {REGISTRY_LABEL!r} objects")
        try:
            items = json.loads(bytes(objects[0][self._p11.Attribute.VALUE]))
            registry = SigningRegistry.from_json(items)
            in_token = {int(i["version"]): bool(i.get("in_token")) for i in items}
        except (KeyError, TypeError, ValueError):
            raise ConfigurationError(f"the token's {REGISTRY_LABEL!r} is damaged") from None
        return registry, in_token

    def _write_registry(self, registry: SigningRegistry, in_token: dict[int, bool]) -> None:
        p11 = self._p11
        attr = p11.Attribute
        items = [
            {**r.to_json(), "in_token": in_token.get(r.version, False)} for r in registry.records
        ]
        old = self._registry_objects()
        self._session.create_object(
            {
                attr.CLASS: p11.ObjectClass.DATA,
                attr.LABEL: REGISTRY_LABEL,
                attr.APPLICATION: "vault",
                attr.VALUE: json.dumps(items, sort_keys=True).encode("utf-8"),
                attr.TOKEN: True,
                attr.PRIVATE: True,
            }
        )
        for obj in old:
            obj.destroy()

    def _sign_keys(self, version: int) -> list[Any]:
        p11 = self._p11
        attr = p11.Attribute
        return list(
            self._session.get_objects(
                {
                    attr.CLASS: p11.ObjectClass.PRIVATE_KEY,
                    attr.LABEL: f"{SIGN_LABEL_PREFIX}{version}",
                }
            )
        )

    def _make_signing_key(self, version: int) -> tuple[bytes, bool]:
        """A new signing key ``version``: (its raw public key, whether it is in the token)."""
        if not self.eddsa_in_token():
            return public_from_seed(self.derive_secret(_derived_seed_label(version))), False
        from pkcs11.util.ec import encode_named_curve_parameters

        p11 = self._p11
        attr = p11.Attribute
        label = f"{SIGN_LABEL_PREFIX}{version}"
        if self._sign_keys(version):
            raise ConfigurationError(f"the PKCS#11 token already holds a key labelled {label!r}")
        params = self._session.create_domain_parameters(
            p11.KeyType.EC_EDWARDS,
            {attr.EC_PARAMS: encode_named_curve_parameters(_ED25519_OID)},
            local=True,
        )
        public, _private = params.generate_keypair(
            mechanism=p11.Mechanism.EC_EDWARDS_KEY_PAIR_GEN,
            store=True,
            label=label,
            private_template={
                attr.EXTRACTABLE: False,
                attr.SENSITIVE: True,
                attr.SIGN: True,
            },
        )
        return _ed25519_point(bytes(public[attr.EC_POINT])), True

    def _registry(self) -> tuple[SigningRegistry, dict[int, bool]]:
        found = self._read_registry()
        if found is None:
            # Tokens from before versioned signing keys: version 1 derived from the root.
            seed = self.derive_secret(SIGNING_SEED_LABEL)
            record = SigningKeyRecord(
                1, b64url(public_from_seed(seed)), SigningState.CURRENT, datetime.now(UTC)
            )
            found = SigningRegistry([record]), {1: False}
            self._write_registry(*found)
        return found

    def ensure_signing(self) -> None:
        """On a fresh token, make signing key version 1 (inside the token if it can)."""
        with self._lock:
            if self._read_registry() is not None:
                return
            public, in_token = self._make_signing_key(1)
            record = SigningKeyRecord(1, b64url(public), SigningState.CURRENT, datetime.now(UTC))
            self._write_registry(SigningRegistry([record]), {1: in_token})

    def signing_registry(self) -> SigningRegistry:
        with self._lock:
            return self._registry()[0]

    def signer_for(self, version: int) -> Signer:
        p11 = self._p11
        with self._lock:
            registry, in_token = self._registry()
            record = next((r for r in registry.records if r.version == version), None)
            if record is None or record.state is SigningState.REVOKED:
                raise unavailable(f"signing key version {version} is not usable")
            public = _b64url_raw(record.x)
            if not in_token.get(version):
                seed = self.derive_secret(_derived_seed_label(version))
                if public_from_seed(seed) != public:
                    raise unavailable(f"signing key version {version} does not match its seed")
                inner = Signer(seed)
                sign_raw = inner.sign
            else:
                keys = self._sign_keys(version)
                if len(keys) != 1:
                    raise unavailable(f"signing key version {version} is missing or duplicated")
                private = keys[0]
                self._check_protected(private, f"{SIGN_LABEL_PREFIX}{version}")

                def sign_raw(data: bytes) -> bytes:
                    with self._lock:
                        return bytes(private.sign(data, mechanism=p11.Mechanism.EDDSA))

        def sign(data: bytes) -> bytes:
            if self.signing_registry().current.version != version:
                raise unavailable(f"signing key version {version} is no longer current")
            return sign_raw(data)

        return Signer.external(public, sign)

    def new_signing_key(self, now: datetime) -> SigningRegistry:
        with self._lock:
            registry, in_token = self._registry()
            version = registry.next_version()
            public, inside = self._make_signing_key(version)
            registry = registry.rotated(version, public, now)
            self._write_registry(registry, {**in_token, version: inside})
            return registry

    def set_signing_registry(self, change: SigningRegistryChange) -> SigningRegistry:
        with self._lock:
            registry, in_token = self._registry()
            registry = change(registry)
            self._write_registry(registry, in_token)
            for record in registry.records:
                if record.state is SigningState.REVOKED and in_token.get(record.version):
                    for key in self._sign_keys(record.version):
                        key.destroy()
            return registry


def _ed25519_point(ec_point: bytes) -> bytes:
    """The raw 32-byte public key in a CKA_EC_POINT (DER OCTET STRING, or raw)."""
    if len(ec_point) == 34 and ec_point[0] == 0x04 and ec_point[1] == 32:
        return ec_point[2:]
    if len(ec_point) == 32:
        return ec_point
    raise ConfigurationError("the token returned an Ed25519 public key in an unknown form")


def _b64url_raw(text: str) -> bytes:
    from vault.crypto.signing import b64url_decode

    return b64url_decode(text)
