"""The ``pkcs11`` key provider: KEKs are non-extractable AES keys inside a token (an HSM).

- KEK version N is the AES-256 secret key labelled ``vault-kek-v<N>``, created
  with ``EXTRACTABLE=false, SENSITIVE=true``; the current version is the highest.
- Wrapping happens inside the token with ``CKM_AES_KEY_WRAP_PAD`` (RFC 5649): the
  DEK enters the token as a temporary session object and leaves wrapped.
- The root secret is a non-extractable generic-secret key ``vault-root``; secrets
  for one purpose (blind-index field keys, the signing seed) are
  HMAC-SHA256(root, label) computed inside the token. The derived secrets live
  in process memory (as they do with the file provider); the root never leaves.
- Retiring a version destroys its key object in the token.
- Wrapped keys are bound to their subject and KEK version: the token wraps
  with ``CKM_AES_KEY_WRAP_PAD`` and computes, inside the token, an
  HMAC-SHA256 key check over (binding, wrapped bytes) under ``vault-root``;
  unwrap checks it (constant time) before unwrapping. KEKs made after this
  scheme carry ``CKA_ID = vault-kek-bound`` and never accept unbound wraps.
- Every vault key must be ``CKA_SENSITIVE``, not extractable, and, where the
  token reports them, ``CKA_NEVER_EXTRACTABLE`` and ``CKA_LOCAL`` (generated
  inside the token): a key imported in clear is refused, as are two objects
  with one label.
- Signing keys are Ed25519 key pairs made inside the token (``CKM_EDDSA``,
  labels ``vault-sign-v<N>``) when it offers the mechanism; otherwise their
  seeds are derived from ``vault-root``. Their states live in a data object
  ``vault-signing-registry`` (public facts only).

One session is shared by the process behind a lock (PKCS#11 sessions are not
safe to use from two threads at once). Unwrapping costs ~0.2 ms on SoftHSM2,
which is why ``SubjectKeys`` caches unwrapped keys.
"""

from __future__ import annotations

import hmac
import json
import re
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vault.crypto.keys import (
    DEK_BYTES,
    WRAP_KWP_MAC,
    WRAP_LEGACY,
    DataKey,
    WrappedKey,
    wrap_binding,
)
from vault.crypto.providers.base import (
    FINGERPRINT_LABEL,
    SIGNING_SEED_LABEL,
    SigningRegistryChange,
    fingerprint_of,
    unavailable,
)
from vault.crypto.signing import Signer, SigningState, b64url, public_from_seed
from vault.crypto.signing_keys import SigningKeyRecord, SigningRegistry
from vault.errors import ConfigurationError, KeyUnavailable

if TYPE_CHECKING:
    from vault.config import Settings

KEK_LABEL_PREFIX = "vault-kek-v"
ROOT_LABEL = "vault-root"
REGISTRY_LABEL = "vault-signing-registry"
SIGN_LABEL_PREFIX = "vault-sign-v"
BOUND_KEK_ID = b"vault-kek-bound"
_KEK_LABEL = re.compile(r"^vault-kek-v([1-9][0-9]{0,8})$")
_SIGN_LABEL = re.compile(r"^vault-sign-v([1-9][0-9]{0,8})$")
_ED25519_OID = "1.3.101.112"


def _derived_seed_label(version: int) -> bytes:
    return SIGNING_SEED_LABEL if version == 1 else f"vault/signing/ed25519/v{version}".encode()


def _token_settings(settings: Settings) -> tuple[Path, str, str]:
    module, label, pin = settings.pkcs11_module, settings.pkcs11_token_label, settings.pkcs11_pin
    if module is None or not label or not pin:
        raise ConfigurationError(
            "the pkcs11 key provider needs VAULT_PKCS11_MODULE, VAULT_PKCS11_TOKEN_LABEL "
            "and VAULT_PKCS11_PIN"
        )
    return module, label, pin


def _pkcs11() -> Any:
    try:
        import pkcs11
    except ImportError:
        raise ConfigurationError(
            "VAULT_KEY_PROVIDER=pkcs11 needs python-pkcs11: pip install 'vault[hsm]'"
        ) from None
    return pkcs11


class Pkcs11KeyProvider:
    name = "pkcs11"

    def __init__(self, module: Path, token_label: str, pin: str) -> None:
        """Open a session on the token; ``ConfigurationError`` if it cannot be reached."""
        p11 = _pkcs11()
        self._p11 = p11
        self.token_label = token_label
        self._lock = threading.RLock()
        try:
            lib = p11.lib(str(module))
            token = lib.get_token(token_label=token_label)
            self._session = token.open(user_pin=pin, rw=True)
        except (p11.exceptions.PKCS11Error, RuntimeError, OSError) as exc:
            raise ConfigurationError(
                f"cannot open PKCS#11 token {token_label!r} with VAULT_PKCS11_MODULE={module} "
                f"({type(exc).__name__}); check the module, token label and VAULT_PKCS11_PIN"
            ) from None
        self._keks: dict[int, Any] = {}
        self._root: Any = None
        self._checked: set[int] = set()
        self._signers: dict[int, Any] = {}
        self._scan()

    def __repr__(self) -> str:
        return f"Pkcs11KeyProvider(token={self.token_label!r})"

    def __reduce__(self) -> Any:
        raise TypeError("a key provider cannot be pickled")

    @classmethod
    def from_settings(cls, settings: Settings) -> Pkcs11KeyProvider:
        provider = cls(*_token_settings(settings))
        if not provider._keks or provider._root is None:
            provider.close()
            raise ConfigurationError(
                f"the PKCS#11 token {settings.pkcs11_token_label!r} holds no vault keys; "
                "run `vault init`"
            )
        return provider

    @classmethod
    def ensure(cls, settings: Settings, *, may_create: bool) -> tuple[Pkcs11KeyProvider, bool]:
        """Open the token, creating KEK version 1 and the root key if it has none."""
        provider = cls(*_token_settings(settings))
        created = False
        if not provider._keks:
            if not may_create:
                provider.close()
                raise ConfigurationError(
                    f"the PKCS#11 token {settings.pkcs11_token_label!r} holds no KEK but the "
                    "database holds wrapped data keys; wrong token?"
                )
            provider._generate_kek(1)
            created = True
        if provider._root is None:
            provider._generate_root()
        provider.ensure_signing()
        return provider, created

    # -- token objects ---------------------------------------------------------------

    def _scan(self) -> None:
        p11 = self._p11
        attr = p11.Attribute
        with self._lock:
            keks: dict[int, Any] = {}
            root = None
            found: dict[str, Any] = {}
            for obj in self._session.get_objects({attr.CLASS: p11.ObjectClass.SECRET_KEY}):
                label = obj.label or ""
                if not _KEK_LABEL.match(label) and label != ROOT_LABEL:
                    continue
                if label in found:
                    raise ConfigurationError(
                        f"the PKCS#11 token holds two keys labelled {label!r}: refusing to "
                        "guess which is the vault's"
                    )
                found[label] = obj
            for label, obj in found.items():
                self._check_protected(obj, label)
                match = _KEK_LABEL.match(label)
                if match:
                    keks[int(match.group(1))] = obj
                else:
                    root = obj
            self._keks, self._root = keks, root

    def _attribute(self, obj: Any, attribute: Any) -> Any:
        """An attribute's value, or None where the token does not report it."""
        p11 = self._p11
        try:
            return obj[attribute]
        except (p11.exceptions.AttributeTypeInvalid, p11.exceptions.AttributeSensitive):
            return None
        except p11.exceptions.PKCS11Error:
            return None

    def _check_protected(self, obj: Any, label: str) -> None:
        """Refuse a key that could have been seen outside the token."""
        handle = getattr(obj, "handle", None)
        if handle is not None and handle in self._checked:
            return
        attr = self._p11.Attribute
        problems = []
        if self._attribute(obj, attr.SENSITIVE) is not True:
            problems.append("not CKA_SENSITIVE")
        if self._attribute(obj, attr.EXTRACTABLE) is not False:
            problems.append("extractable")
        for name, attribute in (
            ("CKA_NEVER_EXTRACTABLE", attr.NEVER_EXTRACTABLE),
            ("CKA_ALWAYS_SENSITIVE", attr.ALWAYS_SENSITIVE),
            ("CKA_LOCAL", attr.LOCAL),
        ):
            if self._attribute(obj, attribute) is False:
                problems.append(f"not {name}")
        if problems:
            raise ConfigurationError(
                f"the PKCS#11 key {label!r} is {', '.join(problems)}: it may have existed "
                "outside the token, so the vault will not use it"
            )
        if handle is not None:
            self._checked.add(handle)

    def _generate_kek(self, version: int) -> None:
        p11 = self._p11
        attr = p11.Attribute
        with self._lock:
            key = self._session.generate_key(
                p11.KeyType.AES,
                256,
                label=f"{KEK_LABEL_PREFIX}{version}",
                id=BOUND_KEK_ID,
                store=True,
                template={
                    attr.EXTRACTABLE: False,
                    attr.SENSITIVE: True,
                    attr.WRAP: True,
                    attr.UNWRAP: True,
                    attr.ENCRYPT: False,
                    attr.DECRYPT: False,
                },
            )
            self._keks[version] = key

    def _generate_root(self) -> None:
        p11 = self._p11
        attr = p11.Attribute
        with self._lock:
            self._root = self._session.generate_key(
                p11.KeyType.GENERIC_SECRET,
                256,
                label=ROOT_LABEL,
                store=True,
                template={attr.EXTRACTABLE: False, attr.SENSITIVE: True, attr.SIGN: True},
            )

    # -- the protocol ----------------------------------------------------------------

    def current_version(self) -> int:
        with self._lock:
            self._scan()
            return max(self._keks)

    def versions(self) -> list[int]:
        with self._lock:
            self._scan()
            return sorted(self._keks)

    def _key_check(self, subject_id: uuid.UUID, version: int, kwp: bytes) -> bytes:
        """HMAC-SHA256 over (binding, wrapped bytes), computed inside the token."""
        p11 = self._p11
        if self._root is None:
            raise unavailable(f"no {ROOT_LABEL} key in token {self.token_label!r}")
        data = wrap_binding(subject_id, version, WRAP_KWP_MAC) + kwp
        return bytes(self._root.sign(data, mechanism=p11.Mechanism.SHA256_HMAC))

    def wrap(self, dek: DataKey, subject_id: uuid.UUID, version: int | None = None) -> WrappedKey:
        p11 = self._p11
        attr = p11.Attribute
        with self._lock:
            self._scan()
            version = max(self._keks) if version is None else version
            kek = self._keks.get(version)
            if kek is None:
                raise unavailable(f"KEK version {version} is not in token {self.token_label!r}")
            temporary = self._session.create_object(
                {
                    attr.CLASS: p11.ObjectClass.SECRET_KEY,
                    attr.KEY_TYPE: p11.KeyType.AES,
                    attr.VALUE: dek.material,
                    attr.TOKEN: False,
                    attr.EXTRACTABLE: True,
                    attr.SENSITIVE: False,
                }
            )
            try:
                kwp = bytes(kek.wrap_key(temporary, mechanism=p11.Mechanism.AES_KEY_WRAP_PAD))
            finally:
                temporary.destroy()
            check = self._key_check(subject_id, version, kwp)
        return WrappedKey(version, bytes([WRAP_KWP_MAC]) + kwp + check)

    def unwrap(self, wrapped: WrappedKey, subject_id: uuid.UUID) -> DataKey:
        p11 = self._p11
        attr = p11.Attribute
        version = wrapped.kek_version
        with self._lock:
            kek = self._keks.get(version)
            if kek is None:
                self._scan()
                kek = self._keks.get(version)
            if kek is None:
                raise unavailable(
                    f"KEK version {version} is not in PKCS#11 token "
                    f"{self.token_label!r}; it holds versions {sorted(self._keks)}"
                )
            fmt = wrapped.format
            if fmt == WRAP_KWP_MAC:
                kwp, check = wrapped.blob[1:41], wrapped.blob[41:]
                if not hmac.compare_digest(self._key_check(subject_id, version, kwp), check):
                    raise unavailable(
                        f"a wrapped data key fails its key check under KEK version {version}: "
                        "the row was altered or moved to another subject"
                    )
            elif fmt == WRAP_LEGACY and self._attribute(kek, attr.ID) != BOUND_KEK_ID:
                kwp = wrapped.blob
            else:
                raise unavailable("a wrapped data key has an unknown or downgraded format")
            try:
                temporary = kek.unwrap_key(
                    p11.ObjectClass.SECRET_KEY,
                    p11.KeyType.AES,
                    kwp,
                    mechanism=p11.Mechanism.AES_KEY_WRAP_PAD,
                    store=False,
                    template={attr.EXTRACTABLE: True, attr.SENSITIVE: False},
                )
            except p11.exceptions.PKCS11Error:
                raise unavailable(
                    f"a data key does not unwrap under KEK version {version} in "
                    f"token {self.token_label!r}: wrong token, or the row was altered"
                ) from None
            try:
                material = bytes(temporary[attr.VALUE])
            finally:
                temporary.destroy()
        if len(material) != DEK_BYTES:
            raise unavailable("an unwrapped data key has the wrong length")
        return DataKey(material)

    def new_version(self) -> int:
        with self._lock:
            self._scan()
            version = max(self._keks) + 1
            self._generate_kek(version)
            return version

    def retire(self, version: int) -> None:
        with self._lock:
            self._scan()
            if version not in self._keks:
                raise KeyUnavailable(f"KEK version {version} is not in the token")
            if version == max(self._keks):
                raise ConfigurationError(f"KEK version {version} is current; rotate first")
            self._keks.pop(version).destroy()

    def derive_secret(self, label: bytes) -> bytes:
        p11 = self._p11
        with self._lock:
            if self._root is None:
                raise unavailable(f"no {ROOT_LABEL} key in token {self.token_label!r}")
            return bytes(self._root.sign(label, mechanism=p11.Mechanism.SHA256_HMAC))

    def fingerprint(self) -> str:
        return fingerprint_of(self.name, self.derive_secret(FINGERPRINT_LABEL))

    # -- signing keys ----------------------------------------------------------------

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

    def close(self) -> None:
        with self._lock:
            self._session.close()


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
