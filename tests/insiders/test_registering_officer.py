"""The officer who registers a subject (THREATS.md): knows the person's data from
registration, and must neither know nor choose the person's PIN; a forgotten PIN is reset
only with the subject at the kiosk and a second person approving."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.support import create_user, login, made_by
from tests.web.conftest import PASSWORD, PIN, World, build_world, csrf_of, staff_login
from tests.world import NEW_SUBJECT
from tests.world import World as ApiWorld
from vault.app import create_app
from vault.audit.queries import AuditFilters, AuditQueries
from vault.config import Settings
from vault.consent.service import PinRefused, SignRequest
from vault.errors import Conflict, Forbidden
from vault.subjects.models import Subject
from vault.vocabulary import EventAction, Principal, Role

ORG = "rutan-jakpus"
NEW_PIN = "275093"
Client = TestClient[Any]
RESET_ID = re.compile(r"<code>([0-9a-f-]{36})</code>")


@pytest.fixture
def web(settings: Settings) -> Iterator[World]:
    """The web tests' world: officers, a counselor, a compliance officer, subjects."""
    with build_world(settings) as built:
        yield built


@pytest.fixture
def client(web: World) -> Iterator[Client]:
    """A browser-like client on the loopback address (the kiosk's cookies are sent back)."""
    with TestClient(create_app(web.services.settings, web.services), "http://127.0.0.1") as c:
        yield c


def open_session(client: Client, subject: uuid.UUID, username: str) -> Any:
    """``username`` logs in at the kiosk and opens a session for the subject."""
    start = staff_login(client, username)
    return client.post(
        "/kiosk/start",
        data={"csrf_token": csrf_of(start), "subject_id": str(subject), "language": "id"},
    )


def pin_hash(web: World, subject: uuid.UUID) -> str | None:
    with web.services.db.read_session() as session:
        row = session.get(Subject, subject)
        assert row is not None
        return row.pin_hash


def choose(client: Client, page: Any, pin: str, again: str | None = None) -> Any:
    return client.post(
        "/kiosk/pin/new",
        data={"csrf_token": csrf_of(page.text), "pin": pin, "pin_again": again or pin},
    )


def test_registration_takes_no_pin(world: ApiWorld) -> None:
    """A PIN sent with a registration is refused (422) and no subject is registered."""
    body = {**NEW_SUBJECT, "nik": "3171019999999999", "register_number": "AI 9/2026"}
    answer = world.client.post(
        "/v1/subjects", json={**body, "pin": "482915"}, headers=world.auth("officer")
    )
    assert answer.status_code == 422
    assert "482915" not in answer.text
    found = world.client.get(
        "/v1/subjects", params={"nik": body["nik"]}, headers=world.auth("officer")
    )
    assert found.json() == []
    created = world.client.post("/v1/subjects", json=body, headers=world.auth("officer"))
    assert created.status_code == 201
    assert "pin" not in created.text.lower()


def test_nothing_needing_the_pin_works_before_the_subject_chose_one(web: World) -> None:
    """A subject without a PIN cannot sign, whatever PIN the staff member types."""
    subject = web.subject(pin=None)
    officer = Principal(web.officers[ORG], Role.OFFICER, ORG)
    request = SignRequest(
        form_id="rehabilitation",
        form_version=1,
        language="id",
        granted_purposes=frozenset({"counseling"}),
        pin=PIN,
    )
    with pytest.raises(Conflict):
        web.services.consents.sign(officer, subject, request)
    with pytest.raises(Conflict):
        web.services.consents.verify_pin(subject, PIN)


def test_the_registering_officer_cannot_choose_the_pin_at_the_kiosk(
    web: World, client: Client
) -> None:
    """In a session the registering officer opened, the PIN page refuses; in a colleague's,
    the subject chooses it."""
    subject = web.subject(pin=None)  # registered by officer1
    page = open_session(client, subject, "officer1")
    assert str(page.url).endswith("/kiosk/pin/new")
    refused = choose(client, page, NEW_PIN)
    assert refused.status_code == 403
    assert pin_hash(web, subject) is None
    client.cookies.clear()
    page = open_session(client, subject, "counselor1")
    assert str(page.url).endswith("/kiosk/pin/new")
    chosen = choose(client, page, NEW_PIN)
    assert chosen.status_code == 200, chosen.text
    assert pin_hash(web, subject) is not None
    assert NEW_PIN not in chosen.text
    assert web.services.consents.verify_pin(subject, NEW_PIN)


@pytest.mark.parametrize(
    "pin",
    ["12345", "111111", "123456", "654321", "890123", "170590", "17051990", "900517", "19900517"],
)
def test_an_easy_pin_is_refused(web: World, pin: str) -> None:
    """Short, one digit, runs up or down and the date of birth (17 May 1990) are refused."""
    subject = web.subject(pin=None, born=date(1990, 5, 17))
    with pytest.raises(PinRefused):
        web.services.consents.choose_pin(subject, pin, pin, witness=None, kiosk_session=None)
    assert pin_hash(web, subject) is None


def test_a_pin_typed_differently_twice_is_refused(web: World) -> None:
    """The two entries must be the same."""
    subject = web.subject(pin=None)
    with pytest.raises(PinRefused):
        web.services.consents.choose_pin(
            subject, NEW_PIN, "275094", witness=None, kiosk_session=None
        )


def test_staff_cannot_choose_over_a_pin_already_chosen(web: World, client: Client) -> None:
    """Once the subject has a PIN, a kiosk session cannot replace it without a reset."""
    subject = web.subject()
    open_session(client, subject, "counselor1")
    page = client.get("/kiosk/pin/new")
    assert str(page.url).endswith("/kiosk/home")
    before = pin_hash(web, subject)
    counselor = Principal(uuid.uuid4(), Role.COUNSELOR, ORG)
    with pytest.raises(Forbidden):
        web.services.consents.choose_pin(
            subject, NEW_PIN, NEW_PIN, witness=counselor, kiosk_session=uuid.uuid4()
        )
    assert pin_hash(web, subject) == before


def ask_reset(client: Client, subject: uuid.UUID, username: str) -> str:
    """``username`` opens a kiosk session and presses "I forgot my PIN"; the reset's number."""
    home = open_session(client, subject, username)
    asked = client.post("/kiosk/pin/forgot", data={"csrf_token": csrf_of(home.text)})
    assert asked.status_code == 200, asked.text
    match = RESET_ID.search(asked.text)
    assert match, asked.text
    return match.group(1)


def test_a_reset_without_a_second_person_is_refused(web: World, client: Client) -> None:
    """The officer who asked for a reset cannot approve it; nothing changes."""
    subject = web.subject()
    reset_id = ask_reset(client, subject, "officer1")
    own = login(client, "officer1", PASSWORD)
    refused = client.post(f"/v1/pin-resets/{reset_id}/approve", headers=own)
    assert refused.status_code == 403
    page = client.get("/kiosk/pin/new")
    assert str(page.url).endswith("/kiosk/home")
    assert web.services.consents.verify_pin(subject, PIN)


def test_a_reset_approved_by_a_second_person_lets_the_subject_choose_again(
    web: World, client: Client
) -> None:
    """A compliance officer approves; the subject chooses a new PIN in that same session;
    the consent signed before stays active; the log names both staff members."""
    subject = web.subject()
    officer = Principal(web.officers[ORG], Role.OFFICER, ORG)
    signed = web.services.consents.sign(
        officer,
        subject,
        SignRequest(
            form_id="rehabilitation",
            form_version=1,
            language="id",
            granted_purposes=frozenset({"counseling"}),
            pin=PIN,
        ),
    )
    reset_id = ask_reset(client, subject, "counselor1")
    approver = login(client, "compliance1", PASSWORD)
    approved = client.post(f"/v1/pin-resets/{reset_id}/approve", headers=approver)
    assert approved.status_code == 200, approved.text
    page = client.get("/kiosk/pin/forgot")
    assert 'action="/kiosk/pin/new"' in page.text
    assert choose(client, page, NEW_PIN).status_code == 200
    assert web.services.consents.verify_pin(subject, NEW_PIN)
    assert not web.services.consents.verify_pin(subject, PIN)
    active = web.services.consents.active_consents(subject, web.clock())
    assert {g.consent_id for g in active} == {signed.id}
    events = list(
        AuditQueries(web.services.db).iter_events(
            AuditFilters(subject_id=subject, action=EventAction.PIN_RESET_APPROVE.value)
        )
    )
    assert len(events) == 1
    counselor = web.services.identity.user_by_name("counselor1")
    assert events[0]["details"]["requested_by"] == str(counselor.id)
    assert events[0]["actor_role"] == "compliance_officer"


def test_a_reset_approved_by_an_account_the_requester_created_is_refused(
    web: World, client: Client
) -> None:
    """An approver whose account the requester made is the requester's second hand."""
    subject = web.subject()
    reset_id = ask_reset(client, subject, "counselor1")
    counselor = web.services.identity.user_by_name("counselor1")
    made = create_user(web.services, "compliance-made", "compliance_officer", ORG, PASSWORD)
    made_by(web.services, made, counselor.id)
    approver = Principal(made, Role.COMPLIANCE_OFFICER, ORG)
    with pytest.raises(Forbidden):
        web.services.consents.approve_reset(approver, uuid.UUID(reset_id))
    page = client.get("/kiosk/pin/new")
    assert str(page.url).endswith("/kiosk/home")


def test_a_reset_of_another_organisation_answers_like_a_missing_one(
    web: World, client: Client
) -> None:
    """Another organisation's officer gets the answer of an unknown reset number."""
    subject = web.subject()
    reset_id = ask_reset(client, subject, "counselor1")
    other = login(client, "officer2", PASSWORD)
    theirs = client.post(f"/v1/pin-resets/{reset_id}/approve", headers=other)
    missing = client.post(f"/v1/pin-resets/{uuid.uuid4()}/approve", headers=other)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["detail"] == missing.json()["detail"]
