"""What the consent capability needs from others, as small protocols.

The real objects are ``services.hasher`` (identity), ``services.signer``
(crypto), ``services.audit`` (audit), ``services.records`` (subjects) and
``services.policy`` (the policy engine, which decides every consent gate); unit
tests pass fakes. A missing collaborator makes the operation that needs it
fail closed (ConfigurationError), never succeed unchecked.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date
from typing import Any, Protocol

from sqlmodel import Session

from vault import vocabulary
from vault.crypto.keys import DataKey


class PinVerifier(Protocol):
    def verify(self, stored_hash: str, secret: str) -> bool:
        """True when ``secret`` matches ``stored_hash``; never raises on a mismatch."""
        ...

    def hash(self, secret: str) -> str:
        """A new hash of ``secret`` (to replace an outdated one after a right PIN)."""
        ...

    def needs_rehash(self, stored_hash: str) -> bool:
        """Whether ``stored_hash`` predates the current scheme (vault.consent.pepper)."""
        ...


class ReceiptSigner(Protocol):
    @property
    def key_id(self) -> str: ...

    def sign_jws(self, payload: Mapping[str, Any]) -> str:
        """A compact JWS (alg EdDSA, kid) over the JSON payload."""
        ...

    def public_jwk(self) -> dict[str, str]: ...


class SubjectFacts(Protocol):
    def date_of_birth(self, session: Session, subject_id: uuid.UUID) -> date:
        """The subject's date of birth (raises NotFound if it is not recorded)."""
        ...


class SubjectDataKeys(Protocol):
    def data_key(self, session: Session, subject_id: uuid.UUID) -> DataKey:
        """The subject's data key (NotFound once shredded)."""
        ...


# The policy engine (``vault.access.engine.PolicyEngine``), decides every consent gate.
ConsentPolicy = vocabulary.PolicyDecider
