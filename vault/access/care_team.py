"""Care teams as the service reads them: the facts of a change, and who may see what.

An assignment puts a staff member who reads content on a subject's care team.
The policy (``ops.manage-assignments``) decides who may change it; this module
gathers the facts it decides with, and says what the caller may know exists:
the subject if their organisation holds it or an active consent names their
organisation; the staff member if of their own organisation (or, for the
holding organisation, of an organisation a consent names).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session, col

from vault.access.models import Assignment
from vault.identity.models import User
from vault.subjects.models import Subject
from vault.vocabulary import ConsentGrant, OperationFacts, Principal


@dataclass(frozen=True)
class CareTeamChange:
    facts: OperationFacts
    subject_visible: bool
    user_visible: bool


def care_team_change(
    actor: Principal,
    subject: Subject | None,
    user: User | None,
    grants: Iterable[ConsentGrant],
) -> CareTeamChange:
    """The facts of putting ``user`` on (or off) ``subject``'s care team, and what is visible."""
    recipients: set[str] = set()
    for grant in grants if subject is not None else ():  # a missing subject names no one
        recipients |= grant.recipients
    recipient = actor.organization in recipients
    holding = subject is not None and subject.organization == actor.organization
    subject_visible = subject is not None and (holding or recipient)
    user_visible = (
        user is not None
        and user.disabled_at is None
        and (
            user.organization == actor.organization or (holding and user.organization in recipients)
        )
    )
    facts = OperationFacts(
        target_org=subject.organization if subject else None,
        on_self=user is not None and user.id == actor.id,
        target_role=user.role if user else "",
        consent_recipient=recipient,
        account_org=user.organization if user else None,
    )
    return CareTeamChange(facts, subject_visible, user_visible)


def live_subject(session: Session, subject_id: uuid.UUID) -> Subject | None:
    """The subject, unless missing or erased."""
    subject = session.get(Subject, subject_id)
    return subject if subject is not None and subject.erased_at is None else None


def active_assignment(
    session: Session, user_id: uuid.UUID, subject_id: uuid.UUID
) -> Assignment | None:
    return session.execute(
        select(Assignment)
        .where(col(Assignment.user_id) == user_id)
        .where(col(Assignment.subject_id) == subject_id)
        .where(col(Assignment.ended_at).is_(None))
    ).scalar_one_or_none()
