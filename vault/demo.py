"""``vault demo``: synthetic demo data for a walk-through, on whatever store is configured.

Two organisations (a rutan of the prison service and a sentra of the social
ministry), staff of every role, three subjects with consents, assignments and
records. Every name, number and story is invented. Passwords and kiosk PINs are
random, printed once, and never stored in clear; loading again changes nothing.
"""

from __future__ import annotations

import argparse
import secrets
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from vault.config import Settings
from vault.consent.choosing import obvious
from vault.consent.service import Guardian, GuardianIdentity, SignRequest
from vault.honeytokens.cli import plant
from vault.services import Services, build_services
from vault.subjects.registration import NewSubject
from vault.vocabulary import Principal, Role

RUTAN = "rutan-jakpus"
SENTRA = "sentra-handayani"
ORGANIZATIONS = (
    (RUTAN, "Rumah Tahanan Negara Kelas I Jakarta Pusat", "imipas"),
    (SENTRA, "Sentra Handayani Jakarta", "kemensos"),
)
STAFF = (
    ("admin.rutan", Role.ADMIN, RUTAN),
    ("officer.rutan", Role.OFFICER, RUTAN),
    ("counselor.rutan", Role.COUNSELOR, RUTAN),
    ("socialworker.rutan", Role.SOCIAL_WORKER, RUTAN),
    ("health.rutan", Role.HEALTH_OFFICER, RUTAN),
    ("compliance.rutan", Role.COMPLIANCE_OFFICER, RUTAN),
    ("admin.sentra", Role.ADMIN, SENTRA),
    ("socialworker.sentra", Role.SOCIAL_WORKER, SENTRA),
    ("counselor.sentra", Role.COUNSELOR, SENTRA),
)


@dataclass(frozen=True)
class DemoSubject:
    full_name: str
    nik: str
    register_number: str
    date_of_birth: date
    purposes: tuple[str, ...]
    guardian: GuardianIdentity | None = None


SUBJECTS = (
    DemoSubject(
        "Budi Santoso (demo)",
        "3171010101900001",
        "AI 101/2026",
        date(1990, 1, 1),
        ("counseling", "social_reintegration", "health_treatment", "handover_kemensos"),
    ),
    DemoSubject(
        "Sari Wulandari (demo)",
        "3171014202950002",
        "AII 102/2026",
        date(1995, 2, 2),
        ("counseling", "social_reintegration"),
    ),
    DemoSubject(
        "Andi Pratama (demo)",
        "3171010303100003",
        "AN 103/2026",
        date(2010, 3, 3),
        ("counseling",),
        GuardianIdentity("Ibu Rina (demo)", "mother", "ktp", "3171019999990000"),
    ),
)
RECORDS: tuple[tuple[str, str, dict[str, str]], ...] = (
    (
        "counselor.rutan",
        "psychological_assessment",
        {
            "instrument": "SRQ-20",
            "summary": "Demo: low mood since admission, sleeps poorly, no self-harm thoughts.",
            "observations": "Demo: calm and oriented; speaks slowly about the family.",
            "risk_level": "moderate",
            "recommendations": "Weekly counseling; a family visit plan.",
        },
    ),
    (
        "counselor.rutan",
        "progress_note",
        {
            "session_date": "2026-10-01",
            "note": "Demo: talked about the family visit; more hopeful.",
            "next_steps": "Join the carpentry workshop.",
        },
    ),
    (
        "socialworker.rutan",
        "family_data",
        {
            "family_members": "Demo: mother, two younger brothers.",
            "contact_person": "Demo contact, 0812-0000-0000",
            "visit_frequency": "monthly",
        },
    ),
    (
        "health.rutan",
        "health_napza",
        {
            "substance_history": "Demo: methamphetamine use before arrest; none since.",
            "hiv_status": "negative",
            "last_test_date": "2026-09-15",
        },
    ),
)


def _secret_password() -> str:
    return secrets.token_urlsafe(12)


def _secret_pin() -> str:
    """A random demo PIN the kiosk would accept (not an easy one)."""
    while True:
        pin = f"{secrets.randbelow(10**6):06d}"
        if obvious(pin, None) is None:
            return pin


def load_demo(services: Services) -> list[str] | None:
    """Load the demo data; the lines to print, or None when it was loaded before."""
    existing = {organization.code for organization in services.identity.organizations()}
    if RUTAN in existing:
        return None
    for code, name, agency in ORGANIZATIONS:
        if code not in existing:
            services.identity.create_organization(code, name, agency)
    lines = ["Demo logins (printed once; every name and story is invented):"]
    principals: dict[str, Principal] = {}
    # Made as on the host (no actor): active at once, with no second person to approve them.
    for username, role, organization in STAFF:
        password = _secret_password()
        user = services.identity.create_user(username, password, role.value, organization)
        principals[username] = Principal(id=user.id, role=role, organization=organization)
        lines.append(f"  {username:<22} {role.value:<19} {organization:<17} {password}")
    lines.append("Demo subjects (kiosk PINs, for the demo only: real subjects choose their own):")
    officer = principals["officer.rutan"]
    written: list[dict[str, uuid.UUID]] = []
    subject_ids: list[uuid.UUID] = []
    for subject in SUBJECTS:
        pin = _secret_pin()
        subject_id = services.subjects.register(
            officer,
            NewSubject(
                full_name=subject.full_name,
                nik=subject.nik,
                register_number=subject.register_number,
                date_of_birth=subject.date_of_birth,
                organization=RUTAN,
            ),
        )
        # A demo action on the host: the same service path the kiosk uses when the
        # subject chooses their PIN (real subjects choose theirs privately at the kiosk).
        services.consents.choose_pin(subject_id, pin, pin, witness=None, kiosk_session=None)
        _care_team(services, principals, subject_id)
        guardian = None
        if subject.guardian is not None:
            # As at the kiosk: one staff member opens, a second checks the guardian's
            # identity document, the guardian chooses their own PIN.
            guardian_pin = _secret_pin()
            services.consents.enrol_guardian(
                principals["counselor.rutan"],
                subject_id,
                subject.guardian,
                checked_by=officer,
                pin=guardian_pin,
                again=guardian_pin,
                kiosk_session=None,
            )
            guardian = Guardian(pin=guardian_pin, assent=True)
            lines.append(f"  (guardian of {subject.full_name}: guardian PIN {guardian_pin})")
        services.consents.sign(
            officer,
            subject_id,
            SignRequest(
                form_id="rehabilitation",
                form_version=1,
                language="id",
                granted_purposes=frozenset(subject.purposes),
                pin=pin,
                guardian=guardian,
                recipients={"handover_kemensos": [SENTRA]},
            ),
        )
        if "handover_kemensos" in subject.purposes:
            # The sentra named by the consent puts its own social worker on the care team.
            services.access.assign(
                principals["admin.sentra"], principals["socialworker.sentra"].id, subject_id
            )
        records = {
            record_type: services.records.create_record(
                principals[author], subject_id, record_type, fields
            ).id
            for author, record_type, fields in RECORDS
        }
        written.append(records)
        subject_ids.append(subject_id)
        lines.append(
            f"  {subject.full_name:<24} register {subject.register_number:<13} "
            f"id {subject_id}  PIN {pin}"
        )
    # One decoy subject: any read, listing or search that touches it is an alert.
    plant(services, 1, RUTAN, "officer.rutan")
    lines.append("One honeytoken subject planted (vault honeytokens plant).")
    lines.extend(_walk_through(subject_ids, written))
    return lines


def _walk_through(subjects: list[uuid.UUID], records: list[dict[str, uuid.UUID]]) -> list[str]:
    """What to try first, with this load's ids, and what the vault answers."""
    budi, sari = subjects[0], subjects[1]
    api = "http://127.0.0.1:8000/v1/subjects"
    return [
        "Try this (log in with POST /v1/auth/login, then send 'Authorization: Bearer <token>'):",
        "  1. as counselor.rutan, read Budi's assessment; he consented to counseling,",
        "     so every field comes back decrypted and the audit event names the consent:",
        f"     GET {api}/{budi}/records/{records[0]['psychological_assessment']}"
        "?purpose=counseling",
        "  2. as counselor.rutan, read Budi's NAPZA/HIV record: a counselor may not read",
        "     health data, so every field comes back in 'withheld' with the reason:",
        f"     GET {api}/{budi}/records/{records[0]['health_napza']}?purpose=counseling",
        "  3. as health.rutan, read Sari's NAPZA/HIV record: she refused health_treatment,",
        "     so nothing is decrypted (Budi's, who agreed, is):",
        f"     GET {api}/{sari}/records/{records[1]['health_napza']}?purpose=health_treatment",
        "  4. as socialworker.sentra, read Budi's family data: he agreed to the handover",
        "     to Sentra Handayani, so its assigned social worker may, for that purpose only:",
        f"     GET {api}/{budi}/records/{records[0]['family_data']}?purpose=handover_kemensos",
        "  5. as compliance.rutan, see who read what, and check the log is intact:",
        f"     GET http://127.0.0.1:8000/v1/audit/events?subject_id={budi}",
        "     GET http://127.0.0.1:8000/v1/audit/verify",
        "  6. open http://127.0.0.1:8000/kiosk as officer.rutan, start a session for a",
        "     subject id above, and let the subject sign or withdraw with their PIN;",
        "     http://127.0.0.1:8000/dashboard as compliance.rutan shows the accesses.",
    ]


def _care_team(services: Services, principals: dict[str, Principal], subject_id: uuid.UUID) -> None:
    admin = principals["admin.rutan"]
    for member in ("counselor.rutan", "socialworker.rutan", "health.rutan"):
        services.access.assign(admin, principals[member].id, subject_id)


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from vault.bootstrap import initialise

    initialise(settings)
    services = build_services(settings)
    try:
        lines = load_demo(services)
    finally:
        services.close()
    if lines is None:
        print(
            "Demo data is already loaded (its logins were printed when it was). "
            "To start afresh, stop the service and run: make clean && make run"
        )
        return 0
    print("\n".join(lines))
    return 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    parser = sub.add_parser(
        "demo",
        help="load synthetic demo data and print the demo logins (once)",
        description="Load two organisations, staff of every role, three invented subjects "
        "with consents, assignments and records. Passwords and PINs are random and printed "
        "once. Running it again changes nothing.",
    )
    parser.set_defaults(handler=cmd_demo)
