"""The key-provider protocol: wrap and unwrap data keys under versioned KEKs.

A provider holds every KEK version it has not retired, the versions of the
Ed25519 signing key, and one root secret from which purpose-specific secrets
are derived (blind-index field keys, the column-seal key, the provider
fingerprint). A new provider (a cloud KMS, Vault Transit) implements this
protocol and nothing else.

Derivation, one scheme for every provider (so the same root gives the same
secrets wherever it lives): ``secret(label) = HMAC-SHA256(root, label)``.
Keyrings written before this scheme keep the HKDF one they were made with
(``derivation`` in the keyring; see docs/keys.md).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Protocol, runtime_checkable

from vault.crypto.keys import DataKey, WrappedKey
from vault.crypto.signing import Signer
from vault.crypto.signing_keys import SigningRegistry
from vault.errors import KeyUnavailable

log = logging.getLogger("vault.keys")


@runtime_checkable
class KeyProvider(Protocol):
    """Wraps data keys under a KEK version; unwraps under any live version."""

    name: str

    def current_version(self) -> int:
        """The KEK version the provider itself considers current."""
        ...

    def versions(self) -> list[int]:
        """Every KEK version still held (not retired), ascending."""
        ...

    def wrap(self, dek: DataKey, subject_id: uuid.UUID, version: int | None = None) -> WrappedKey:
        """Encrypt ``dek`` for ``subject_id`` under KEK ``version`` (default: current),
        bound to both (see ``vault.crypto.keys.wrap_binding``)."""
        ...

    def unwrap(self, wrapped: WrappedKey, subject_id: uuid.UUID) -> DataKey:
        """Decrypt the subject's wrapped key; ``KeyUnavailable`` (opaque) if it fails."""
        ...

    def new_version(self) -> int:
        """Create a new KEK version and make it current; return it."""
        ...

    def retire(self, version: int) -> None:
        """Destroy a KEK version for good (never the current one)."""
        ...

    def derive_secret(self, label: bytes) -> bytes:
        """32 bytes derived from the provider's root secret for one purpose (``label``)."""
        ...

    def fingerprint(self) -> str:
        """Names this provider and its root (no secret): stored with the data it protects."""
        ...

    def signing_registry(self) -> SigningRegistry:
        """The signing key versions and their states."""
        ...

    def signer_for(self, version: int) -> Signer:
        """A signer over signing key ``version`` (which must be current to be used)."""
        ...

    def new_signing_key(self, now: datetime) -> SigningRegistry:
        """A new current signing key; the previous one becomes ``active``."""
        ...

    def set_signing_registry(self, change: SigningRegistryChange) -> SigningRegistry:
        """Apply ``change`` to the registry under the provider's lock and store it."""
        ...

    def close(self) -> None:
        """Release sessions and handles."""
        ...


class SigningRegistryChange(Protocol):
    def __call__(self, registry: SigningRegistry) -> SigningRegistry: ...


SIGNING_SEED_LABEL = b"vault/signing/ed25519/v1"
"""The label of signing key version 1 in keyrings and tokens made before signing
keys were versioned (it was derived from the root; later versions are random)."""
FINGERPRINT_LABEL = b"vault/provider-fingerprint/v1"


def fingerprint_of(name: str, secret: bytes) -> str:
    """``<provider>:<first 16 bytes of the fingerprint secret, hex>``."""
    return f"{name}:{secret[:16].hex()}"


def unavailable(detail: str) -> KeyUnavailable:
    """The one answer for a key that cannot be used: details go to the operator's
    log, never to the caller (no keyring path, versions or token label)."""
    log.error("key unavailable: %s", detail)
    return KeyUnavailable("A key needed for this operation is not available.")
