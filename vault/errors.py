"""The vault's exception tree.

Services raise only these; one handler in :mod:`vault.http.problems` turns them
into ``application/problem+json`` (RFC 9457). No exception message may carry a
secret: the ``detail`` of every error is shown to the caller as written.

::

    VaultError                      never raised directly
    ├── ConfigurationError          unusable settings; the service refuses to start
    ├── InvalidInput                400/422: the request is malformed
    │   └── UnknownCatalogEntry     422: a record type or field not in the catalog
    ├── AuthenticationFailed        401: no, bad, expired or revoked credentials
    ├── Forbidden                   403: authenticated but a rule denies it
    ├── NotFound                    404: no such thing, or not allowed to know it exists
    ├── Conflict                    409: the state does not allow it (duplicate, legal hold...)
    ├── PayloadTooLarge             413
    ├── RateLimited                 429: carries ``retry_after`` seconds
    ├── AuditUnavailable            503: the audit event could not be made durable (fail closed)
    └── CryptoError                 never raised directly
        ├── DecryptionFailed        opaque: any failure to decrypt or verify a ciphertext
        ├── KeyUnavailable          a key or key version the provider does not have
        └── SignatureInvalid        a receipt or checkpoint signature does not verify
"""

from __future__ import annotations

from typing import Any, ClassVar


class VaultError(Exception):
    """Root of every error the vault raises on purpose. Never thrown directly."""

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal"
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra


class ConfigurationError(VaultError):
    slug = "configuration"
    title = "The vault is not configured correctly"


class InvalidInput(VaultError):
    status = 422
    slug = "invalid-input"
    title = "The request is not valid"


class UnknownCatalogEntry(InvalidInput):
    slug = "unknown-catalog-entry"
    title = "Unknown record type or field"


class AuthenticationFailed(VaultError):
    status = 401
    slug = "unauthenticated"
    title = "Authentication required"


class Forbidden(VaultError):
    status = 403
    slug = "forbidden"
    title = "Not allowed"


class NotFound(VaultError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(VaultError):
    status = 409
    slug = "conflict"
    title = "Conflict with the current state"


class PayloadTooLarge(VaultError):
    status = 413
    slug = "payload-too-large"
    title = "Request body too large"


class RateLimited(VaultError):
    status = 429
    slug = "rate-limited"
    title = "Too many attempts"

    def __init__(self, detail: str | None = None, *, retry_after: int = 60) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class AuditUnavailable(VaultError):
    status = 503
    slug = "audit-unavailable"
    title = "The audit log could not record this access; nothing was returned"


class CryptoError(VaultError):
    """Root of cryptographic failures. Never thrown directly."""

    slug = "crypto"
    title = "Cryptographic failure"


class DecryptionFailed(CryptoError):
    """Any failure to decrypt; deliberately carries no detail (no oracle)."""

    slug = "decryption-failed"
    title = "Decryption failed"

    def __init__(self) -> None:
        super().__init__("Decryption failed.")


class KeyUnavailable(CryptoError):
    status = 503
    slug = "key-unavailable"
    title = "A key needed for this operation is not available"


class SignatureInvalid(CryptoError):
    status = 422
    slug = "signature-invalid"
    title = "Signature does not verify"
