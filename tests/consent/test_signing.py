"""Signing a consent: PIN, witness, guardians for minors, refusals, supersession."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.consent.conftest import T0, Clock, FakeAudit, FakeFacts, add_subject
from tests.consent.signing_support import GUARDIAN_PIN, ORG, enrol, officer, request
from vault.consent.service import Actor, ConsentService, Guardian, SignRequest
from vault.consent.views import ConsentStatus
from vault.db import Database
from vault.errors import Conflict, Forbidden, InvalidInput, NotFound, RateLimited
from vault.vocabulary import Role

ALL = frozenset(
    {"counseling", "social_reintegration", "health_treatment", "handover_kemensos", "statistics"}
)


@pytest.fixture
def adult(db: Database, facts: FakeFacts) -> uuid.UUID:
    subject = add_subject(db)
    facts.births[subject] = date(1990, 5, 17)
    return subject


def test_sign_grants_only_chosen_purposes(
    consents: ConsentService, adult: uuid.UUID, audit: FakeAudit
) -> None:
    """Granted purposes become grants; refused ones are recorded and audited, never granted."""
    signed = consents.sign(officer(), adult, request())
    assert signed.status is ConsentStatus.ACTIVE
    grants = consents.active_consents(adult, T0)
    assert {g.purpose for g in grants} == {"counseling", "statistics"}
    assert all(g.recipients == {ORG} for g in grants)
    [record] = consents.list_for_subject(consents_actor(), adult)
    refused = {p.code for p in record.purposes if not p.granted}
    assert refused == {"social_reintegration", "health_treatment", "handover_kemensos"}
    assert audit.actions().count("consent.refuse") == 3
    assert "consent.sign" in audit.actions()
    assert record.row.text_sha256 == consents.form("rehabilitation").text_sha256(
        "id", consents.settings.controller_name
    )


def consents_actor() -> Actor:
    return Actor.staff(officer())


def test_refusing_everything_is_still_recorded(consents: ConsentService, adult: uuid.UUID) -> None:
    """Refusing every purpose is a valid answer: recorded, and no grant results."""
    consents.sign(officer(), adult, request(frozenset()))
    assert consents.active_consents(adult, T0) == []
    [record] = consents.list_for_subject(consents_actor(), adult)
    assert not any(p.granted for p in record.purposes)


def test_wrong_pin_is_refused_then_rate_limited(
    consents: ConsentService, adult: uuid.UUID, clock: Clock, audit: FakeAudit
) -> None:
    """Wrong PINs are refused and counted in the database, then 429 until the window passes."""
    limit = consents.settings.pin_max_failures
    for _ in range(limit):
        with pytest.raises(Forbidden, match="PIN"):
            consents.sign(officer(), adult, request(pin="0000"))
    with pytest.raises(RateLimited) as raised:
        consents.sign(officer(), adult, request())  # even the right PIN is not checked now
    assert 0 < raised.value.retry_after <= consents.settings.pin_window_seconds
    assert audit.actions().count("consent.pin_failed") == limit
    assert consents.active_consents(adult, T0) == []
    clock.advance(seconds=consents.settings.pin_window_seconds + 1)
    consents.sign(officer(), adult, request())
    assert consents.active_consents(adult, clock.now)


def test_witness_rules(consents: ConsentService, adult: uuid.UUID) -> None:
    """Only an officer or counselor of the subject's own organisation may witness."""
    with pytest.raises(Forbidden):
        consents.sign(officer(role=Role.HEALTH_OFFICER), adult, request())
    with pytest.raises(NotFound):
        consents.sign(officer(org="lapas-cipinang"), adult, request())
    consents.sign(officer(role=Role.COUNSELOR), adult, request())


def test_minor_needs_a_guardian_and_turning_18_ends_it(
    consents: ConsentService, db: Database, facts: FakeFacts, clock: Clock
) -> None:
    """A minor cannot sign alone; a guardian signs, assent is kept, and it ends at 18."""
    child = add_subject(db)
    facts.births[child] = date(2008, 1, 10)  # 17 at T0, 18 on 2026-01-10 (before a year passes)
    with pytest.raises(Forbidden, match="guardian"):
        consents.sign(officer(), child, request())
    guardian_id = enrol(consents, child)
    signed = consents.sign(officer(), child, request(guardian=Guardian(GUARDIAN_PIN, assent=True)))
    assert signed.expires_at == datetime(2026, 1, 10, tzinfo=UTC)
    [record] = consents.list_for_subject(consents_actor(), child)
    assert (record.row.signed_by, record.row.guardian_id, record.row.assent) == (
        "guardian",
        guardian_id,
        True,
    )
    assert consents.active_consents(child, datetime(2026, 1, 9, 23, tzinfo=UTC))
    assert consents.active_consents(child, datetime(2026, 1, 10, tzinfo=UTC)) == []


def test_child_without_assent_grants_nothing(
    consents: ConsentService, db: Database, facts: FakeFacts
) -> None:
    """When the child does not agree, every purpose is recorded as refused."""
    child = add_subject(db)
    facts.births[child] = date(2010, 1, 1)
    enrol(consents, child)
    guardian = Guardian(GUARDIAN_PIN, assent=False)
    consents.sign(officer(), child, request(ALL - {"handover_kemensos"}, guardian=guardian))
    assert consents.active_consents(child, T0) == []


def test_adult_cannot_sign_through_a_guardian(consents: ConsentService, adult: uuid.UUID) -> None:
    """An adult's consent is their own: a guardian is refused."""
    with pytest.raises(InvalidInput):
        consents.sign(officer(), adult, request(guardian=Guardian(GUARDIAN_PIN)))


def test_handover_names_the_sentra(consents: ConsentService, adult: uuid.UUID) -> None:
    """The handover purpose grants only to the sentra named at signing, and requires one."""
    with pytest.raises(InvalidInput, match="sentra"):
        consents.sign(officer(), adult, request(frozenset({"handover_kemensos"})))
    for named in (["lapas-x"], ["sentra-not-registered"], ["rutan-jakpus"]):
        with pytest.raises(InvalidInput, match="Kemensos"):
            consents.sign(
                officer(),
                adult,
                request(frozenset({"handover_kemensos"}), recipients={"handover_kemensos": named}),
            )
    # Exactly as many as the form promises: one sentra.
    with pytest.raises(InvalidInput, match="exactly 1"):
        consents.sign(
            officer(),
            adult,
            request(
                frozenset({"handover_kemensos"}),
                recipients={"handover_kemensos": ["sentra-handayani", "sentra-ciungwanara"]},
            ),
        )
    consents.sign(
        officer(),
        adult,
        request(
            frozenset({"handover_kemensos"}),
            recipients={"handover_kemensos": ["sentra-handayani"]},
        ),
    )
    [grant] = consents.active_consents(adult, T0)
    assert grant.recipients == {"sentra-handayani"}
    assert ORG not in grant.recipients


def test_later_consent_supersedes(
    consents: ConsentService, adult: uuid.UUID, clock: Clock, audit: FakeAudit
) -> None:
    """A new consent on the same form replaces the active one: the newest answer counts."""
    first = consents.sign(officer(), adult, request(ALL - {"handover_kemensos"}))
    clock.advance(days=3)
    second = consents.sign(officer(), adult, request(frozenset({"counseling"})))
    assert {g.purpose for g in consents.active_consents(adult, clock.now)} == {"counseling"}
    history = consents.list_for_subject(consents_actor(), adult)
    statuses = {r.id: r.status(clock.now) for r in history}
    assert statuses == {first.id: ConsentStatus.SUPERSEDED, second.id: ConsentStatus.ACTIVE}
    assert "consent.supersede" in audit.actions()


def test_outdated_form_and_unknown_purpose_are_refused(
    consents: ConsentService, adult: uuid.UUID
) -> None:
    """Only known purposes of the current form version can be signed."""
    with pytest.raises(InvalidInput):
        consents.sign(officer(), adult, request(frozenset({"marketing"})))
    with pytest.raises(NotFound):
        consents.sign(officer(), adult, SignRequest("rehabilitation", 9, "id", frozenset(), "2468"))
    with pytest.raises(InvalidInput):
        consents.sign(officer(), adult, SignRequest("rehabilitation", 1, "fr", frozenset(), "2468"))


def test_unknown_birth_date_fails_closed(consents: ConsentService, db: Database) -> None:
    """Without a date of birth nobody can tell whether a guardian must sign: refused."""
    subject = add_subject(db)
    with pytest.raises(Conflict):
        consents.sign(officer(), subject, request())
    assert consents.active_consents(subject, T0) == []


def test_pin_never_reaches_audit_or_repr(
    consents: ConsentService, adult: uuid.UUID, audit: FakeAudit
) -> None:
    """The PIN appears in no audit event and not in the request's repr."""
    consents.sign(officer(), adult, request(pin="2468"))
    with pytest.raises(Forbidden):
        consents.sign(officer(), adult, request(pin="97531"))
    assert "97531" not in repr(request(pin="97531"))
    assert not any("97531" in repr(e) or "2468" in repr(e) for e in audit.events)
    assert T0 + timedelta(0) == consents.clock()
