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
import re
import threading
import uuid
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
    fingerprint_of,
    unavailable,
)
from vault.crypto.providers.pkcs11_checks import load_pkcs11, token_settings
from vault.crypto.providers.pkcs11_signing import SigningKeys
from vault.errors import ConfigurationError, KeyUnavailable

if TYPE_CHECKING:
    from vault.config import Settings

KEK_LABEL_PREFIX = "vault-kek-v"
ROOT_LABEL = "vault-root"
BOUND_KEK_ID = b"vault-kek-bound"
_KEK_LABEL = re.compile(r"^vault-kek-v([1-9][0-9]{0,8})$")


class Pkcs11KeyProvider(SigningKeys):
    name = "pkcs11"

    def __init__(self, module: Path, token_label: str, pin: str) -> None:
        """Open a session on the token; ``ConfigurationError`` if it cannot be reached."""
        p11 = load_pkcs11()
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
        provider = cls(*token_settings(settings))
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
        provider = cls(*token_settings(settings))
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

    def close(self) -> None:
        with self._lock:
            self._session.close()
