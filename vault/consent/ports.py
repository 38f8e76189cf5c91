"""What the consent capability needs from others, as small protocols.

The real objects are ``services.hasher`` (identity), ``services.signer``
(crypto), ``services.audit`` (audit) and ``services.records`` (subjects); unit
tests pass fakes. A missing collaborator makes the operation that needs it
fail closed (ConfigurationError), never succeed unchecked.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date
from typing import Any, Protocol

from sqlmodel import Session


class PinVerifier(Protocol):
    def verify(self, stored_hash: str, secret: str) -> bool:
        """True when ``secret`` matches ``stored_hash``; never raises on a mismatch."""
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
