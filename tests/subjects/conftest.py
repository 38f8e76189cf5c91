"""Fixtures of the subjects tests: real services over a migrated store, and its staff."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

import pytest

from tests.service_fixtures import clock, services
from tests.support import RecordingAudit, create_user
from vault.services import Services
from vault.subjects.registration import NewSubject
from vault.vocabulary import Principal, Role

__all__ = ["clock", "services", "staff", "subject_events"]


@dataclass(frozen=True)
class Staff:
    """One of each role the subject operations involve, at two organisations."""

    officer: Principal
    counselor: Principal
    compliance: Principal
    admin: Principal
    other_officer: Principal
    other_compliance: Principal


def _member(services: Services, name: str, role: Role, organization: str) -> Principal:
    return Principal(create_user(services, name, role.value, organization), role, organization)


@pytest.fixture
def staff(services: Services) -> Staff:
    return Staff(
        officer=_member(services, "officer-a", Role.OFFICER, "lapas-a"),
        counselor=_member(services, "counselor-a", Role.COUNSELOR, "lapas-a"),
        compliance=_member(services, "compliance-a", Role.COMPLIANCE_OFFICER, "lapas-a"),
        admin=_member(services, "admin-a", Role.ADMIN, "lapas-a"),
        other_officer=_member(services, "officer-b", Role.OFFICER, "lapas-b"),
        other_compliance=_member(services, "compliance-b", Role.COMPLIANCE_OFFICER, "lapas-b"),
    )


@pytest.fixture
def subject_events(services: Services) -> RecordingAudit:
    """Every audit event the subjects service appends from now on (still written for real)."""
    recorder = RecordingAudit(services.audit)
    services.subjects.audit = recorder
    return recorder


def new_subject(
    organization: str = "lapas-a",
    nik: str | None = None,
    register_number: str | None = None,
    born: date = date(1990, 7, 4),
) -> NewSubject:
    """A subject to register (fresh identifiers unless given)."""
    return NewSubject(
        full_name="Budi Santoso",
        nik=nik or str(uuid.uuid4().int)[:16],
        register_number=register_number or f"REG-{uuid.uuid4().hex[:8]}",
        date_of_birth=born,
        organization=organization,
    )
