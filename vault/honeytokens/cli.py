"""``vault honeytokens plant N``: register decoy subjects and remember which they are."""

from __future__ import annotations

import argparse
import secrets
from datetime import date
from typing import Any

from sqlmodel import col, select

from vault.audit.events import AuditEvent, Outcome
from vault.config import Settings
from vault.honeytokens.models import Honeytoken
from vault.registry import open_services
from vault.subjects.registration import NewSubject
from vault.vocabulary import EventAction, Principal, Role

__all__ = ["plant", "register"]

GIVEN = ("Agus", "Dewi", "Rudi", "Lestari", "Hendra", "Wati", "Joko", "Ratna", "Yusuf", "Intan")
FAMILY = ("Saputra", "Hidayat", "Nugroho", "Kurniawan", "Lubis", "Siregar", "Wibowo", "Putri")
MAX_PLANT = 50


def register(sub: argparse._SubParsersAction[Any]) -> None:
    honeytokens = sub.add_parser(
        "honeytokens",
        help="decoy subjects whose every touch is an alert",
        description="Plant decoy subjects: ordinary-looking subjects no legitimate "
        "workflow touches. Any read, listing or search that hits one is recorded as a "
        "honeytoken.hit event and shown as an alert to the organisation's compliance officers.",
    )
    actions = honeytokens.add_subparsers(dest="honeytokens_command", required=True)
    p = actions.add_parser("plant", help="register N decoy subjects in an organisation")
    p.add_argument("count", type=int, help=f"how many (1 to {MAX_PLANT})")
    p.add_argument("--organization", required=True, help="the organisation holding them")
    p.add_argument(
        "--officer",
        required=True,
        help="username of an officer of that organisation, named as the registrar",
    )
    p.set_defaults(handler=cmd_plant)


def _decoy(organization: str) -> NewSubject:
    """Invented identity data shaped like a real subject's (16-digit NIK, register number)."""
    nik = "31" + "".join(secrets.choice("0123456789") for _ in range(14))
    year = 1970 + secrets.randbelow(35)
    return NewSubject(
        full_name=f"{secrets.choice(GIVEN)} {secrets.choice(FAMILY)}",
        nik=nik,
        register_number=f"AI {100 + secrets.randbelow(900)}/{date.today().year}",
        date_of_birth=date(year, 1 + secrets.randbelow(12), 1 + secrets.randbelow(28)),
        organization=organization,
    )


def plant(services: Any, count: int, organization: str, officer_username: str) -> list[Any]:
    """Register ``count`` decoys through the ordinary registration; returns their ids."""
    if not 1 <= count <= MAX_PLANT:
        raise ValueError(f"count must be between 1 and {MAX_PLANT}")
    from vault.identity.models import User

    with services.db.read_session() as session:
        user = session.execute(
            select(User).where(col(User.username) == officer_username.strip().lower())
        ).scalar_one_or_none()
        if user is None or user.organization != organization:
            raise ValueError("no such officer in that organisation")
        officer = Principal(user.id, Role(user.role), user.organization)
    planted = []
    for _ in range(count):
        subject_id = services.subjects.register(officer, _decoy(organization))
        with services.db.session() as session:
            session.add(Honeytoken(subject_id=subject_id, organization=organization))
        planted.append(subject_id)
    # The host's own event: how many, never which.
    services.audit.append(
        AuditEvent.by(
            None,
            EventAction.HONEYTOKEN_PLANT,
            Outcome.INFO,
            details={"organization": organization, "count": count},
        )
    )
    return planted


def cmd_plant(args: argparse.Namespace, settings: Settings) -> int:
    services = open_services(settings)
    try:
        planted = plant(services, args.count, args.organization, args.officer)
    except ValueError as exc:
        print(f"error: {exc}")
        return 2
    finally:
        services.close()
    print(f"planted {len(planted)} honeytoken subject(s) in {args.organization}")
    return 0
