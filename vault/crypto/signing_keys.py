"""Versioned signing keys: their states, the registry that lists them, the current signer.

A key is ``current`` (signs), ``active`` (a former current key: verifies, signs
nothing new), ``retired`` (verifies only what was signed up to its retirement)
or ``revoked`` (verifies nothing). The key material lives with the key provider;
this module holds only public keys, states and times.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, NoReturn, Protocol

from vault.crypto.signing import (
    Signer,
    SigningState,
    _thumbprint,
    b64url,
    b64url_decode,
    parse_instant,
)
from vault.errors import ConfigurationError, InvalidInput

# -- versioned signing keys ---------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class SigningKeyRecord:
    """One signing key version's public facts (no secret): what the registry stores."""

    version: int
    x: str  # the raw public key, base64url
    state: SigningState
    created_at: datetime
    retired_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def kid(self) -> str:
        return _thumbprint(self.x)

    def public_jwk(self) -> dict[str, str]:
        """The JWK to publish (``status`` and ``retired_at`` tell verifiers its limits)."""
        jwk = {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": self.x,
            "kid": self.kid,
            "alg": "EdDSA",
            "use": "sig",
            "status": str(self.state),
        }
        if self.retired_at is not None:
            jwk["retired_at"] = _iso(self.retired_at)
        return jwk

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "x": self.x,
            "state": str(self.state),
            "created_at": _iso(self.created_at),
            "retired_at": None if self.retired_at is None else _iso(self.retired_at),
            "revoked_at": None if self.revoked_at is None else _iso(self.revoked_at),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SigningKeyRecord:
        def moment(value: Any) -> datetime | None:
            return None if value is None else parse_instant(str(value))

        created = moment(data["created_at"])
        if created is None:
            raise ValueError("a signing key needs created_at")
        record = cls(
            version=int(data["version"]),
            x=str(data["x"]),
            state=SigningState(str(data["state"])),
            created_at=created,
            retired_at=moment(data.get("retired_at")),
            revoked_at=moment(data.get("revoked_at")),
        )
        if len(b64url_decode(record.x)) != 32:
            raise ValueError("an Ed25519 public key is 32 bytes")
        return record


class SigningRegistry:
    """The versions of the signing key and their states; exactly one is current."""

    def __init__(self, records: Sequence[SigningKeyRecord]) -> None:
        current = [r for r in records if r.state is SigningState.CURRENT]
        versions = [r.version for r in records]
        if len(current) != 1 or len(set(versions)) != len(versions):
            raise ValueError("a signing key registry has exactly one current key")
        self.records = sorted(records, key=lambda r: r.version)

    def to_json(self) -> list[dict[str, Any]]:
        return [r.to_json() for r in self.records]

    @classmethod
    def from_json(cls, data: Any) -> SigningRegistry:
        if not isinstance(data, list):
            raise ValueError("a signing key registry is a list")
        return cls([SigningKeyRecord.from_json(item) for item in data])

    @property
    def current(self) -> SigningKeyRecord:
        return next(r for r in self.records if r.state is SigningState.CURRENT)

    def next_version(self) -> int:
        return max(r.version for r in self.records) + 1

    def find(self, kid: str) -> SigningKeyRecord:
        for record in self.records:
            if record.kid == kid:
                return record
        raise InvalidInput(f"no signing key with kid {kid}")

    def rotated(self, version: int, public_raw: bytes, now: datetime) -> SigningRegistry:
        """A new current key; the previous current becomes ``active``."""
        records = [
            replace(r, state=SigningState.ACTIVE) if r.state is SigningState.CURRENT else r
            for r in self.records
        ]
        records.append(SigningKeyRecord(version, b64url(public_raw), SigningState.CURRENT, now))
        return SigningRegistry(records)

    def _changed(
        self, kid: str, change: Callable[[SigningKeyRecord], SigningKeyRecord]
    ) -> SigningRegistry:
        target = self.find(kid)
        if target.state is SigningState.CURRENT:
            raise ConfigurationError(
                f"signing key {kid} is current: run `vault keys rotate-signing` first"
            )
        return SigningRegistry([change(r) if r is target else r for r in self.records])

    def retired(self, kid: str, now: datetime) -> SigningRegistry:
        """``kid`` verifies only what it signed up to ``now``, and signs nothing."""

        def retire(record: SigningKeyRecord) -> SigningKeyRecord:
            if record.state is not SigningState.ACTIVE:
                raise ConfigurationError(f"signing key {kid} is already {record.state}")
            return replace(record, state=SigningState.RETIRED, retired_at=now)

        return self._changed(kid, retire)

    def revoked(self, kid: str, now: datetime) -> SigningRegistry:
        """``kid`` verifies nothing any more."""

        def revoke(record: SigningKeyRecord) -> SigningKeyRecord:
            if record.state is SigningState.REVOKED:
                raise ConfigurationError(f"signing key {kid} is already revoked")
            return replace(
                record,
                state=SigningState.REVOKED,
                revoked_at=now,
                retired_at=record.retired_at or now,
            )

        return self._changed(kid, revoke)

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """Current, active and retired public keys (revoked ones are left out)."""
        return {
            "keys": [r.public_jwk() for r in self.records if r.state is not SigningState.REVOKED]
        }


class SigningKeys(Protocol):
    """Where the signing keys live (the key provider)."""

    def signing_registry(self) -> SigningRegistry: ...

    def signer_for(self, version: int) -> Signer: ...


class CurrentSigner:
    """The vault's signer: always signs with the provider's current signing key.

    Looks the current key up on every signature (another process may have
    rotated it), so a key that is no longer current signs nothing new.
    """

    def __init__(self, keys: SigningKeys) -> None:
        self._keys = keys
        self._lock = threading.Lock()
        self._signers: dict[int, Signer] = {}

    def __repr__(self) -> str:
        return "CurrentSigner(<provider>)"

    def __reduce__(self) -> NoReturn:
        raise TypeError("a signer cannot be pickled")

    def current(self) -> Signer:
        """The current key's signer (one snapshot: its kid and its signatures agree)."""
        version = self._keys.signing_registry().current.version
        with self._lock:
            signer = self._signers.get(version)
            if signer is None:
                signer = self._keys.signer_for(version)
                self._signers[version] = signer
        return signer

    @property
    def key_id(self) -> str:
        return self.current().key_id

    def sign(self, data: bytes) -> bytes:
        return self.current().sign(data)

    def sign_jws(self, payload: Mapping[str, Any]) -> str:
        return self.current().sign_jws(payload)

    def public_jwk(self) -> dict[str, str]:
        """The current public key (what ``GET /v1/keys/signing`` has always answered)."""
        return self.current().public_jwk()

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return self._keys.signing_registry().jwks()

    def verification_keys(self) -> list[dict[str, str]]:
        """Every key that may still verify, with its limits (for the vault's own checks)."""
        return self.jwks()["keys"]
