"""A minor's guardian (THREATS.md): the child alone cannot sign, the guardian signs with a
PIN of their own set after an identity check by a second staff member, their identity is
sealed under the child's data key, and the child's age is read only after the PIN."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlmodel import col, select

from tests.web.conftest import PASSWORD, PIN, World, csrf_of, open_kiosk
from tests.web.kiosk_support import FORM
from vault.audit.queries import AuditFilters, AuditQueries
from vault.consent.service import (
    Guardian,
    GuardianIdentity,
    GuardianNeeded,
    PinRefused,
    SignRequest,
)
from vault.consent.tables import Consent, ConsentGuardian
from vault.errors import Forbidden, InvalidInput, RateLimited
from vault.vocabulary import EventAction, Principal, Role

ORG = "rutan-jakpus"
GUARDIAN_PIN = "860431"
NAME = "Ibu Kartini Canary"
DOCUMENT = "3171015508809911"
Client = TestClient[Any]


def _officer(world: World) -> Principal:
    return Principal(world.officers[ORG], Role.OFFICER, ORG)


def _counselor(world: World) -> Principal:
    user = world.services.identity.user_by_name("counselor1")
    return Principal(user.id, Role.COUNSELOR, ORG)


def _request(guardian: Guardian | None = None, pin: str = PIN) -> SignRequest:
    return SignRequest(
        form_id="rehabilitation",
        form_version=1,
        language="id",
        granted_purposes=frozenset({"counseling"}),
        pin=pin,
        guardian=guardian,
    )


def _enrol(world: World, child: uuid.UUID) -> uuid.UUID:
    return world.services.consents.enrol_guardian(
        _officer(world),
        child,
        GuardianIdentity(NAME, "mother", "ktp", DOCUMENT),
        checked_by=_counselor(world),
        pin=GUARDIAN_PIN,
        again=GUARDIAN_PIN,
        kiosk_session=None,
    )


def _consents(world: World, subject: uuid.UUID) -> list[tuple[str, uuid.UUID | None]]:
    """Who signed each of the subject's consents, and with which guardian."""
    with world.services.db.read_session() as session:
        rows = session.exec(select(Consent).where(col(Consent.subject_id) == subject))
        return [(row.signed_by, row.guardian_id) for row in rows]


def _events(world: World, subject: uuid.UUID, action: EventAction) -> list[dict[str, Any]]:
    filters = AuditFilters(subject_id=subject, action=action.value)
    return list(AuditQueries(world.services.db).iter_events(filters))


def _walk_to_summary(client: Client) -> str:
    page = client.get(f"/kiosk/forms/{FORM}/purposes/1")
    for purpose in client.app.state.services.consents.form(FORM).purposes:
        # No sentra was chosen when the session was opened: the handover is refused.
        choice = "refuse" if purpose.needs_sentra else "accept"
        page = client.post(
            str(page.url.path), data={"csrf_token": csrf_of(page.text), "choice": choice}
        )
    assert page.url.path.endswith("/summary"), page.text
    return page.text


def _enrol_at_kiosk(client: Client, form_html: str, checker: str) -> Any:
    return client.post(
        "/kiosk/guardian",
        data={
            "csrf_token": csrf_of(form_html),
            "form": FORM,
            "guardian_name": NAME,
            "guardian_relation": "mother",
            "document_type": "ktp",
            "document_number": DOCUMENT,
            "checker_username": checker,
            "checker_password": PASSWORD,
            "pin": GUARDIAN_PIN,
            "pin_again": GUARDIAN_PIN,
        },
    )


def test_the_child_alone_cannot_sign(kiosk_world: World, kiosk_client: Client) -> None:
    """With only the child's PIN nothing is signed: the kiosk sends them to enrol a
    guardian, a made-up guardian PIN signs nothing, and the API refuses the same."""
    child = kiosk_world.minor()
    open_kiosk(kiosk_client, child)
    summary = _walk_to_summary(kiosk_client)
    alone = kiosk_client.post(
        f"/kiosk/forms/{FORM}/sign", data={"csrf_token": csrf_of(summary), "pin": PIN}
    )
    assert alone.url.path == "/kiosk/guardian", alone.text
    summary = kiosk_client.get(f"/kiosk/forms/{FORM}/summary").text
    guessed = kiosk_client.post(
        f"/kiosk/forms/{FORM}/sign",
        data={
            "csrf_token": csrf_of(summary),
            "pin": PIN,
            "guardian_pin": "135792",
            "assent": "yes",
        },
    )
    assert guessed.url.path == "/kiosk/guardian"
    with pytest.raises(GuardianNeeded):
        kiosk_world.services.consents.sign(_officer(kiosk_world), child, _request())
    assert _consents(kiosk_world, child) == []


def test_the_officer_who_opened_the_session_cannot_be_the_witness(
    kiosk_world: World, kiosk_client: Client
) -> None:
    """The staff member who opened the session cannot confirm the guardian's identity
    document themselves; a second staff member can, and then child and guardian sign."""
    child = kiosk_world.minor()
    open_kiosk(kiosk_client, child)  # opened by officer1
    summary = _walk_to_summary(kiosk_client)
    form = kiosk_client.post(
        f"/kiosk/forms/{FORM}/sign", data={"csrf_token": csrf_of(summary), "pin": PIN}
    ).text
    own = _enrol_at_kiosk(kiosk_client, form, "officer1")
    assert own.status_code == 403, own.text
    assert kiosk_world.services.consents.enrolled_guardian(child) is None
    [refused] = _events(kiosk_world, child, EventAction.GUARDIAN_ENROL)
    assert (refused["outcome"], refused["actor_id"]) == ("deny", str(kiosk_world.officers[ORG]))
    with pytest.raises(Forbidden):
        kiosk_world.services.consents.enrol_guardian(
            _officer(kiosk_world),
            child,
            GuardianIdentity(NAME, "mother", "ktp", DOCUMENT),
            checked_by=_officer(kiosk_world),
            pin=GUARDIAN_PIN,
            again=GUARDIAN_PIN,
            kiosk_session=None,
        )
    checked = _enrol_at_kiosk(kiosk_client, own.text, "counselor1")
    assert checked.status_code == 200, checked.text
    enrolled = kiosk_world.services.consents.enrolled_guardian(child)
    assert enrolled is not None
    assert enrolled.checked_by == _counselor(kiosk_world).id
    summary = kiosk_client.get(f"/kiosk/forms/{FORM}/summary").text
    assert 'name="guardian_pin"' in summary
    signed = kiosk_client.post(
        f"/kiosk/forms/{FORM}/sign",
        data={
            "csrf_token": csrf_of(summary),
            "pin": PIN,
            "guardian_pin": GUARDIAN_PIN,
            "assent": "yes",
        },
    )
    assert signed.url.path.startswith("/kiosk/receipts/"), signed.text
    assert _consents(kiosk_world, child) == [("guardian", enrolled.id)]


def test_a_wrong_guardian_pin_is_refused_and_rate_limited(kiosk_world: World) -> None:
    """Wrong guardian PINs are refused and counted like the subject's: a burst of parallel
    guesses gets at most the limit evaluated, and then even the right one waits."""
    child = kiosk_world.minor()
    _enrol(kiosk_world, child)
    consents = kiosk_world.services.consents
    limit = kiosk_world.services.settings.pin_max_failures

    def guess(number: int) -> str:
        try:
            consents.sign(
                _officer(kiosk_world), child, _request(Guardian(f"{900000 + number:06d}"))
            )
        except RateLimited:
            return "limited"
        except Forbidden:
            return "wrong"
        return "signed"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(guess, range(20)))
    assert outcomes.count("signed") == 0
    assert 1 <= outcomes.count("wrong") <= limit
    assert outcomes.count("limited") == 20 - outcomes.count("wrong")
    with pytest.raises(RateLimited):
        consents.sign(_officer(kiosk_world), child, _request(Guardian(GUARDIAN_PIN)))
    failed = _events(kiosk_world, child, EventAction.GUARDIAN_PIN_FAILED)
    assert len(failed) == outcomes.count("wrong")
    assert GUARDIAN_PIN not in str(failed)
    # The child's own PIN is not locked by the guardian's wrong ones.
    assert consents.verify_pin(child, PIN, _officer(kiosk_world))


def test_the_guardians_identity_is_sealed_under_the_childs_key(kiosk_world: World) -> None:
    """Only ciphertext of the guardian's identity is stored; it opens under the child's key,
    still after that key is rotated, and is named nowhere in the audit log."""
    child = kiosk_world.minor()
    guardian_id = _enrol(kiosk_world, child)
    with kiosk_world.services.db.read_session() as session:
        row = session.get(ConsentGuardian, guardian_id)
        assert row is not None
        sealed = bytes(row.sealed_identity)
    assert NAME.encode() not in sealed
    assert DOCUMENT.encode() not in sealed
    kiosk_world.services.records.rotate_subject_key(child)
    identity = kiosk_world.services.consents.guardian_identity(child, guardian_id)
    assert (identity.name, identity.relation, identity.document_number) == (
        NAME,
        "mother",
        DOCUMENT,
    )
    logged = str(list(AuditQueries(kiosk_world.services.db).iter_events(AuditFilters())))
    assert NAME not in logged
    assert DOCUMENT not in logged
    assert GUARDIAN_PIN not in logged


def test_the_age_check_runs_only_after_the_pin_and_is_audited(kiosk_world: World) -> None:
    """A wrong PIN reads nothing about the person; after the right one the date of birth
    is read under an audit event naming the staff member of the session."""
    child = kiosk_world.minor()
    consents = kiosk_world.services.consents
    with pytest.raises(Forbidden):
        consents.sign(_officer(kiosk_world), child, _request(pin="999111"))
    assert _events(kiosk_world, child, EventAction.AGE_CHECK) == []
    with pytest.raises(GuardianNeeded):
        consents.sign(_officer(kiosk_world), child, _request())
    [check] = _events(kiosk_world, child, EventAction.AGE_CHECK)
    assert (check["actor_id"], check["purpose"], check["categories"]) == (
        str(kiosk_world.officers[ORG]),
        "system",
        ["identity"],
    )


def test_the_kiosk_asks_nothing_of_the_age_before_the_pin(
    kiosk_world: World, kiosk_client: Client
) -> None:
    """Walking the form to its summary decrypts no date of birth: the page asks for a
    guardian only once the child's PIN was right."""
    child = kiosk_world.minor()
    open_kiosk(kiosk_client, child)
    summary = _walk_to_summary(kiosk_client)
    assert 'name="guardian_pin"' not in summary
    assert _events(kiosk_world, child, EventAction.AGE_CHECK) == []


def test_no_guardian_is_enrolled_before_the_childs_pin_or_for_an_adult(
    kiosk_world: World, kiosk_client: Client
) -> None:
    """The enrolment page opens only after the child's right PIN showed them under 18:
    staff going there first are sent home; an adult gets no guardian at all."""
    child = kiosk_world.minor()
    home = open_kiosk(kiosk_client, child)
    assert kiosk_client.get("/kiosk/guardian").url.path == "/kiosk/home"
    posted = _enrol_at_kiosk(kiosk_client, home, "counselor1")
    assert posted.url.path == "/kiosk/home"
    assert kiosk_world.services.consents.enrolled_guardian(child) is None
    adult = kiosk_world.subject()
    with pytest.raises(InvalidInput):
        _enrol(kiosk_world, adult)
    assert kiosk_world.services.consents.enrolled_guardian(adult) is None


def test_the_guardian_cannot_choose_the_childs_pin(kiosk_world: World) -> None:
    """A guardian PIN equal to the child's would make one person both signatures: refused."""
    child = kiosk_world.minor()
    with pytest.raises(PinRefused) as refused:
        kiosk_world.services.consents.enrol_guardian(
            _officer(kiosk_world),
            child,
            GuardianIdentity(NAME, "mother", "ktp", DOCUMENT),
            checked_by=_counselor(kiosk_world),
            pin=PIN,
            again=PIN,
            kiosk_session=None,
        )
    assert refused.value.reason == "pin_same_as_child"
    assert kiosk_world.services.consents.enrolled_guardian(child) is None
