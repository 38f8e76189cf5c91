"""Which events, subjects and grants belong to an organisation (a compliance officer's view).

An event belongs to an organisation when either holds:

- its actor acted as a member of that organisation (``actor_org``, copied from
  the hashed content into an indexed column that verification checks), or
- its subject is held by that organisation now (``subjects.organization``).

So a read of a subject held by a lapas, made by a sentra's counselor under a
consent naming the sentra, belongs to both: the lapas's compliance officer
sees who read its subject, the sentra's sees what its own staff did. Events
with neither (the host's command line, a login with an unknown name) belong
to no organisation and are read on the host (``vault audit``).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import ColumnElement, String, column, or_, select, table

from vault.audit.models import EVENTS
from vault.db import Database
from vault.subjects.models import Subject

SUBJECTS = Subject.metadata.tables[Subject.__tablename__]
# The two columns read of the identity and consent capabilities' tables, named here
# rather than imported: those capabilities write to the audit log, so importing
# their models would make the audit package depend on its own users.
_ID = EVENTS.c.actor_id.type
USERS = table("users", column("id", _ID), column("organization", String()))
CONSENTS = table("consents", column("id", _ID), column("subject_id", _ID))
GRANTS = table(
    "break_glass_grants", column("id", _ID), column("user_id", _ID), column("subject_id", _ID)
)


def events_of(organization: str) -> ColumnElement[bool]:
    """The SQL condition: the event belongs to ``organization`` (see the module's rule)."""
    held = select(SUBJECTS.c.id).where(SUBJECTS.c.organization == organization)
    return or_(EVENTS.c.actor_org == organization, EVENTS.c.subject_id.in_(held))


def subject_org(db: Database, subject_id: uuid.UUID) -> str | None:
    """The organisation holding the subject, or None if there is no such subject."""
    with db.read_session() as session:
        found = session.execute(
            select(SUBJECTS.c.organization).where(SUBJECTS.c.id == subject_id)
        ).scalar_one_or_none()
    return None if found is None else str(found)


def held_subjects(
    db: Database, organization: str, subject_ids: Collection[uuid.UUID]
) -> set[uuid.UUID]:
    """Those of ``subject_ids`` held by ``organization``."""
    if not subject_ids:
        return set()
    with db.read_session() as session:
        rows = session.execute(
            select(SUBJECTS.c.id).where(
                SUBJECTS.c.id.in_(list(subject_ids)), SUBJECTS.c.organization == organization
            )
        ).scalars()
        return {uuid.UUID(str(row)) for row in rows}


def members(db: Database, organization: str, user_ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
    """Those of ``user_ids`` whose account belongs to ``organization``."""
    if not user_ids:
        return set()
    with db.read_session() as session:
        rows = session.execute(
            select(USERS.c.id).where(
                USERS.c.id.in_(list(user_ids)), USERS.c.organization == organization
            )
        ).scalars()
        return {uuid.UUID(str(row)) for row in rows}


def consents_of(
    db: Database, organization: str, consent_ids: Collection[uuid.UUID]
) -> set[uuid.UUID]:
    """Those of ``consent_ids`` whose subject is held by ``organization``."""
    if not consent_ids:
        return set()
    held = select(SUBJECTS.c.id).where(SUBJECTS.c.organization == organization)
    with db.read_session() as session:
        rows = session.execute(
            select(CONSENTS.c.id).where(
                CONSENTS.c.id.in_(list(consent_ids)), CONSENTS.c.subject_id.in_(held)
            )
        ).scalars()
        return {uuid.UUID(str(row)) for row in rows}


def grant_of(db: Database, organization: str, grant_id: uuid.UUID) -> bool:
    """Whether a break-glass grant is about a subject ``organization`` holds or was opened
    by one of its staff (False for a grant that does not exist)."""
    held = select(SUBJECTS.c.id).where(SUBJECTS.c.organization == organization)
    staff = select(USERS.c.id).where(USERS.c.organization == organization)
    with db.read_session() as session:
        found = session.execute(
            select(GRANTS.c.id).where(
                GRANTS.c.id == grant_id,
                or_(GRANTS.c.subject_id.in_(held), GRANTS.c.user_id.in_(staff)),
            )
        ).first()
    return found is not None
