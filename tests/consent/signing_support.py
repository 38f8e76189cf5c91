"""Helpers for the consent tests: an officer principal and a signing request."""

from __future__ import annotations

import uuid

from vault.consent.service import Guardian, SignRequest
from vault.vocabulary import Principal, Role

ORG = "rutan-jakpus"


def officer(org: str = ORG, role: Role = Role.OFFICER) -> Principal:
    return Principal(id=uuid.uuid4(), role=role, organization=org)


def request(
    granted: frozenset[str] = frozenset({"counseling", "statistics"}),
    pin: str | None = "2468",
    guardian: Guardian | None = None,
    **kwargs: object,
) -> SignRequest:
    return SignRequest(
        form_id="rehabilitation",
        form_version=1,
        language="id",
        granted_purposes=granted,
        pin=pin,
        guardian=guardian,
        **kwargs,  # type: ignore[arg-type]  # tests pass recipients only
    )
