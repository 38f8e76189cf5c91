"""Organisations: the prisons, detention centres and social affairs centres accounts belong to.

They are made on the host (``vault organizations create``); every account and
subject belongs to exactly one.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from vault.audit.events import AuditEvent, Outcome
from vault.errors import Conflict, InvalidInput
from vault.identity.core import ORGANIZATION_PATTERN, IdentityCore
from vault.identity.models import Agency, Organization
from vault.vocabulary import EventAction


class Organizations(IdentityCore):
    def create_organization(self, code: str, name: str, agency: str) -> Organization:
        if not ORGANIZATION_PATTERN.match(code):
            raise InvalidInput("An organisation code is 2-64 lower-case letters, digits or '-'.")
        if agency not in {a.value for a in Agency}:
            raise InvalidInput(f"agency must be one of: {', '.join(a.value for a in Agency)}.")
        if not name.strip():
            raise InvalidInput("An organisation needs a name.")
        with self.db.read_session() as session:
            if self._organization(session, code) is not None:
                raise Conflict(f"Organisation {code!r} already exists.")
        self.audit.append(
            AuditEvent.by(
                None,
                EventAction.ORGANIZATION_CREATE,
                Outcome.INFO,
                actor_org=code,
                details={"code": code, "agency": agency},
            )
        )
        organization = Organization(code=code, name=name.strip(), agency=agency)
        try:
            with self.db.session() as session:
                session.add(organization)
        except IntegrityError:
            raise Conflict(f"Organisation {code!r} already exists.") from None
        return organization

    def organizations(self) -> list[Organization]:
        with self.db.read_session() as session:
            found = list(
                session.execute(select(Organization).order_by(col(Organization.code))).scalars()
            )
            session.expunge_all()
            return found
