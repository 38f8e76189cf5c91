"""The facts of a care-team change (vault.access.care_team), without a database."""

from __future__ import annotations

import uuid

from vault.access.care_team import care_team_change
from vault.identity.models import User
from vault.subjects.models import Subject
from vault.vocabulary import Category, ConsentGrant, Principal, Role

HOLDING = "rutan-jakpus"
SENTRA = "sentra-handayani"


def _grant(subject_id: uuid.UUID) -> ConsentGrant:
    return ConsentGrant(
        uuid.uuid4(),
        subject_id,
        "handover_kemensos",
        frozenset({Category.FAMILY}),
        frozenset({HOLDING, SENTRA}),
        None,
    )


def _user(role: str, organization: str) -> User:
    return User(
        username="u" + uuid.uuid4().hex[:8], password_hash="x", role=role, organization=organization
    )


def test_a_missing_subject_makes_no_one_a_recipient() -> None:
    """Consents left behind by a missing (or erased) subject open no care team to anyone."""
    actor = Principal(uuid.uuid4(), Role.ADMIN, SENTRA)
    change = care_team_change(actor, None, _user("social_worker", SENTRA), [_grant(uuid.uuid4())])
    assert not change.facts.consent_recipient
    assert not change.subject_visible


def test_the_recipient_sees_only_its_own_staff() -> None:
    """A recipient organisation sees the subject, its own staff, and not the holding staff."""
    subject = Subject(organization=HOLDING, nik_index="n", register_index="r")
    actor = Principal(uuid.uuid4(), Role.ADMIN, SENTRA)
    own = care_team_change(actor, subject, _user("social_worker", SENTRA), [_grant(subject.id)])
    theirs = care_team_change(actor, subject, _user("counselor", HOLDING), [_grant(subject.id)])
    assert own.subject_visible
    assert own.user_visible
    assert own.facts.consent_recipient
    assert theirs.subject_visible
    assert not theirs.user_visible


def test_self_is_a_fact() -> None:
    """Naming oneself as the member is the on_self fact the policy forbids."""
    subject = Subject(organization=HOLDING, nik_index="n", register_index="r")
    me = _user("officer", HOLDING)
    actor = Principal(me.id, Role.OFFICER, HOLDING)
    change = care_team_change(actor, subject, me, [])
    assert change.facts.on_self
    assert change.facts.target_role == "officer"
