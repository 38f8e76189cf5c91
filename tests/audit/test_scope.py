"""``vault.audit.scope``: what belongs to an organisation, as its compliance officer sees it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from tests.audit.conftest import sample_event
from tests.audit.fakes import InterceptedLog
from vault.access.models import BreakGlass
from vault.audit import scope
from vault.audit.models import EVENTS
from vault.db import Database
from vault.identity.models import Organization, User
from vault.subjects.models import Subject


def _subject(db: Database, organization: str) -> uuid.UUID:
    subject = Subject(
        organization=organization, nik_index=uuid.uuid4().hex, register_index=uuid.uuid4().hex
    )
    with db.session() as session:
        session.add(subject)
    return subject.id


def _user(db: Database, organization: str) -> uuid.UUID:
    with db.session() as session:
        known = session.execute(
            select(Organization.id).where(Organization.code == organization)
        ).first()
        if known is None:
            session.add(Organization(code=organization, name=organization, agency="imipas"))
            session.flush()
        user = User(
            username=f"u-{uuid.uuid4().hex[:12]}",
            password_hash="x",
            role="counselor",
            organization=organization,
        )
        session.add(user)
    return user.id


def test_subject_org_names_the_holder_and_nothing_for_a_stranger(db: Database) -> None:
    """The holding organisation of a subject; None for an id that is no subject."""
    held = _subject(db, "lapas-a")
    assert scope.subject_org(db, held) == "lapas-a"
    assert scope.subject_org(db, uuid.uuid4()) is None


def test_held_subjects_keeps_only_the_organisations_own(db: Database) -> None:
    """Of a list of subjects, only those the organisation holds are its own."""
    ours, theirs = _subject(db, "lapas-a"), _subject(db, "lapas-b")
    assert scope.held_subjects(db, "lapas-a", [ours, theirs, uuid.uuid4()]) == {ours}
    assert scope.held_subjects(db, "lapas-a", []) == set()


def test_members_keeps_only_the_organisations_staff(db: Database) -> None:
    """Of a list of accounts, only those of the organisation are its members."""
    ours, theirs = _user(db, "lapas-a"), _user(db, "sentra-b")
    assert scope.members(db, "lapas-a", [ours, theirs]) == {ours}
    assert scope.members(db, "sentra-b", []) == set()


def test_grant_belongs_to_the_holder_and_to_the_opener(db: Database) -> None:
    """A break-glass grant is seen by the subject's holder and by the opener's organisation."""
    subject = _subject(db, "lapas-a")
    opener = _user(db, "sentra-b")
    grant = BreakGlass(
        user_id=opener,
        subject_id=subject,
        justification="v1:sealed",
        expires_at=datetime.now(UTC) + timedelta(hours=1),
    )
    with db.session() as session:
        session.add(grant)
    assert scope.grant_of(db, "lapas-a", grant.id)
    assert scope.grant_of(db, "sentra-b", grant.id)
    assert not scope.grant_of(db, "lapas-c", grant.id)
    assert not scope.grant_of(db, "lapas-a", uuid.uuid4())


def test_event_belongs_to_the_actors_org_and_to_the_subjects_holder(
    db: Database, audit_log: InterceptedLog
) -> None:
    """A sentra's read of a lapas's subject is in both organisations' view, in no third one."""
    subject = _subject(db, "lapas-a")
    audit_log.append(sample_event(actor_org="sentra-b", subject_id=subject))

    def count(organization: str) -> int:
        with db.read_session() as session:
            rows = session.execute(select(EVENTS.c.id).where(scope.events_of(organization)))
            return len(rows.all())

    assert count("lapas-a") == 1
    assert count("sentra-b") == 1
    assert count("lapas-c") == 0
