"""Helpers for the consent tests: an officer principal, a signing request, a guardian."""

from __future__ import annotations

import uuid

from vault.consent.service import ConsentService, Guardian, GuardianIdentity, SignRequest
from vault.vocabulary import Principal, Role

ORG = "rutan-jakpus"
GUARDIAN_PIN = "975310"
GUARDIAN = GuardianIdentity("Siti Aminah", "ibu", "ktp", "3171015508800002")


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


def enrol(
    consents: ConsentService,
    child: uuid.UUID,
    pin: str = GUARDIAN_PIN,
    opener: Principal | None = None,
    checker: Principal | None = None,
) -> uuid.UUID:
    """The child's guardian, enrolled as at the kiosk: an officer opened the session, a
    counselor (a second person) checked the identity document, the guardian chose ``pin``."""
    return consents.enrol_guardian(
        opener or officer(),
        child,
        GUARDIAN,
        checked_by=checker or officer(role=Role.COUNSELOR),
        pin=pin,
        again=pin,
        kiosk_session=None,
    )
