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

One session is shared by the process behind a lock (PKCS#11 sessions are not
safe to use from two threads at once). Unwrapping costs ~0.2 ms on SoftHSM2,
which is why ``SubjectKeys`` caches unwrapped keys.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vault.crypto.keys import DEK_BYTES, DataKey, WrappedKey
from vault.errors import ConfigurationError, KeyUnavailable

if TYPE_CHECKING:
    from vault.config import Settings

KEK_LABEL_PREFIX = "vault-kek-v"
ROOT_LABEL = "vault-root"
_KEK_LABEL = re.compile(r"^vault-kek-v([1-9][0-9]{0,8})$")


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
        return provider, created

    # -- token objects ---------------------------------------------------------------

    def _scan(self) -> None:
        p11 = self._p11
        attr = p11.Attribute
        with self._lock:
            keks: dict[int, Any] = {}
            root = None
            for obj in self._session.get_objects({attr.CLASS: p11.ObjectClass.SECRET_KEY}):
                label = obj.label
                match = _KEK_LABEL.match(label or "")
                if match:
                    keks[int(match.group(1))] = obj
                elif label == ROOT_LABEL:
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

    def wrap(self, dek: DataKey) -> WrappedKey:
        p11 = self._p11
        attr = p11.Attribute
        with self._lock:
            self._scan()
            version = max(self._keks)
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
                blob = self._keks[version].wrap_key(
                    temporary, mechanism=p11.Mechanism.AES_KEY_WRAP_PAD
                )
            finally:
                temporary.destroy()
        return WrappedKey(version, bytes(blob))

    def unwrap(self, wrapped: WrappedKey) -> DataKey:
        p11 = self._p11
        attr = p11.Attribute
        with self._lock:
            kek = self._keks.get(wrapped.kek_version)
            if kek is None:
                self._scan()
                kek = self._keks.get(wrapped.kek_version)
            if kek is None:
                raise KeyUnavailable(
                    f"KEK version {wrapped.kek_version} is not in PKCS#11 token "
                    f"{self.token_label!r}; it holds versions {sorted(self._keks)}"
                )
            try:
                temporary = kek.unwrap_key(
                    p11.ObjectClass.SECRET_KEY,
                    p11.KeyType.AES,
                    wrapped.blob,
                    mechanism=p11.Mechanism.AES_KEY_WRAP_PAD,
                    store=False,
                    template={attr.EXTRACTABLE: True, attr.SENSITIVE: False},
                )
            except p11.exceptions.PKCS11Error:
                raise KeyUnavailable(
                    f"a data key does not unwrap under KEK version {wrapped.kek_version} in "
                    f"token {self.token_label!r}: wrong token, or the row was altered"
                ) from None
            try:
                material = bytes(temporary[attr.VALUE])
            finally:
                temporary.destroy()
        if len(material) != DEK_BYTES:
            raise KeyUnavailable("an unwrapped data key has the wrong length")
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
                raise KeyUnavailable(f"no {ROOT_LABEL} key in token {self.token_label!r}")
            return bytes(self._root.sign(label, mechanism=p11.Mechanism.SHA256_HMAC))

    def close(self) -> None:
        with self._lock:
            self._session.close()
