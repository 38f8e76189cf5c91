"""The key-provider protocol: wrap and unwrap data keys under versioned KEKs.

A provider holds every KEK version it has not retired and one root secret
from which purpose-specific secrets are derived (blind-index field keys, the
signing key seed). A new provider (a cloud KMS, Vault Transit) implements
this protocol and nothing else.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from vault.crypto.keys import DataKey, WrappedKey


@runtime_checkable
class KeyProvider(Protocol):
    """Wraps data keys under the current KEK version; unwraps under any live version."""

    name: str

    def current_version(self) -> int:
        """The KEK version new wraps use."""
        ...

    def versions(self) -> list[int]:
        """Every KEK version still held (not retired), ascending."""
        ...

    def wrap(self, dek: DataKey) -> WrappedKey:
        """Encrypt ``dek`` under the current KEK version."""
        ...

    def unwrap(self, wrapped: WrappedKey) -> DataKey:
        """Decrypt a wrapped key; ``KeyUnavailable`` if its version is gone or it fails."""
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

    def close(self) -> None:
        """Release sessions and handles."""
        ...


SIGNING_SEED_LABEL = b"vault/signing/ed25519/v1"
