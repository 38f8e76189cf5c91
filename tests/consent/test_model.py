"""``vault.consent.model``: who acts on a consent, minors' ages, guardians, withdrawal codes."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from vault.audit.events import Outcome
from vault.consent.model import (
    SUBJECT_ROLE,
    Actor,
    Guardian,
    adulthood,
    age_on,
    withdrawal_reason,
)
from vault.errors import InvalidInput
from vault.vocabulary import EventAction, Principal, Role

WITNESS = Principal(uuid.UUID(int=5), Role.COUNSELOR, "lapas-a")
SUBJECT = uuid.UUID(int=9)


def test_subjects_act_is_recorded_under_the_staff_witness() -> None:
    """At the kiosk the event names the staff member beside the subject, as role "subject"."""
    event = Actor.subject(SUBJECT, WITNESS).event(EventAction.CONSENT_SIGN, Outcome.ALLOW)
    assert event.actor_id == WITNESS.id
    assert event.actor_role == SUBJECT_ROLE
    assert event.actor_org == "lapas-a"


def test_subject_without_a_session_is_recorded_as_itself() -> None:
    """With no witness (no kiosk session) the subject's own id is the actor."""
    event = Actor.subject(SUBJECT).event(EventAction.CONSENT_SIGN, Outcome.ALLOW)
    assert event.actor_id == SUBJECT
    assert event.actor_role == SUBJECT_ROLE


def test_staff_act_as_themselves() -> None:
    """A staff member's event carries their own id and role."""
    actor = Actor.staff(WITNESS)
    event = actor.event(EventAction.CONSENT_WITHDRAW, Outcome.ALLOW)
    assert (event.actor_id, event.actor_role) == (WITNESS.id, "counselor")
    assert actor.kind == "staff"
    assert actor.id == WITNESS.id


def test_subject_may_not_do_a_staff_operation() -> None:
    """Asking the subject's actor for a staff principal is refused, even with a witness."""
    actor = Actor.subject(SUBJECT, WITNESS)
    assert actor.kind == "subject"
    assert actor.id == SUBJECT
    with pytest.raises(InvalidInput, match="for staff"):
        actor.staff_principal()


@pytest.mark.parametrize(
    ("born", "day", "age"),
    [
        (date(2008, 5, 10), date(2026, 5, 9), 17),
        (date(2008, 5, 10), date(2026, 5, 10), 18),
        (date(2008, 2, 29), date(2026, 2, 28), 17),
        (date(2008, 2, 29), date(2026, 3, 1), 18),
    ],
)
def test_age_counts_whole_years_to_the_birthday(born: date, day: date, age: int) -> None:
    """A person is a year older on their birthday, not the day before."""
    assert age_on(born, day) == age


def test_adulthood_is_midnight_utc_of_the_18th_birthday() -> None:
    """A minor's consent ends at 18; someone born on 29 February comes of age on 1 March."""
    assert adulthood(date(2008, 5, 10)) == datetime(2026, 5, 10, tzinfo=UTC)
    assert adulthood(date(2008, 2, 29)) == datetime(2026, 3, 1, tzinfo=UTC)


def test_guardian_repr_hides_the_pin() -> None:
    """A guardian's PIN never reaches a log through repr."""
    guardian = Guardian("482913", assent=False)
    assert "482913" not in repr(guardian)
    assert "assent=False" in repr(guardian)


def test_free_text_withdrawal_reason_becomes_other() -> None:
    """Only coded reasons are stored: free text (which could hold health data) is "other"."""
    assert withdrawal_reason("turned_18") == "turned_18"
    assert withdrawal_reason("he has HIV and moved") == "other"
    assert withdrawal_reason(None) is None
    assert withdrawal_reason("") is None
