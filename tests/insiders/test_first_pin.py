"""A colleague who chooses the subject's first PIN before the subject sits down (THREATS.md),
and the list of PIN resets an approver works from: the subject sees on every visit when and
in whose session their PIN was made, can disown it (blocked, alerted, two-person reset),
and approvers see only their own organisation's resets, never their own requests."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.support import login
from tests.web.conftest import PASSWORD, World, csrf_of, open_kiosk, staff_login
from vault.audit.alerts import AlertRules, compute_alerts
from vault.audit.queries import AuditFilters, AuditQueries
from vault.consent.service import PinBlocked, SignRequest
from vault.errors import Forbidden
from vault.vocabulary import EventAction, Principal, Role

ORG = "rutan-jakpus"
COLLEAGUE_PIN = "730194"
NEW_PIN = "581302"
RESET_ID = re.compile(r"<code>([0-9a-f-]{36})</code>")
Client = TestClient[Any]


def _request(pin: str) -> SignRequest:
    return SignRequest(
        form_id="rehabilitation",
        form_version=1,
        language="id",
        granted_purposes=frozenset({"counseling"}),
        pin=pin,
    )


def _colleague_chooses_the_pin(client: Client, subject: uuid.UUID) -> None:
    """The attack: counselor1 opens the first session and types a PIN of their own choosing
    before handing over the tablet; then ends the session."""
    start = staff_login(client, "counselor1")
    page = client.post(
        "/kiosk/start",
        data={"csrf_token": csrf_of(start), "subject_id": str(subject), "language": "en"},
    )
    assert page.url.path == "/kiosk/pin/new"
    client.post(
        "/kiosk/pin/new",
        data={"csrf_token": csrf_of(page.text), "pin": COLLEAGUE_PIN, "pin_again": COLLEAGUE_PIN},
    )
    client.post("/kiosk/end", data={"csrf_token": csrf_of(page.text)})


def home_page(client: Client) -> str:
    return str(client.get("/kiosk/home").text)


def _disowned(kiosk_world: World, kiosk_client: Client, subject: uuid.UUID) -> str:
    """The subject, at their next visit (opened by officer1), presses the button; the
    reset number the kiosk then shows."""
    home = open_kiosk(kiosk_client, subject)
    assert 'action="/kiosk/pin/disown"' in home
    pressed = kiosk_client.post("/kiosk/pin/disown", data={"csrf_token": csrf_of(home)})
    assert pressed.status_code == 200, pressed.text
    found = RESET_ID.search(pressed.text)
    assert found, pressed.text
    return found.group(1)


def test_the_subject_sees_when_and_in_whose_session_their_pin_was_made(
    kiosk_world: World, kiosk_client: Client
) -> None:
    """On a later visit the home page names the date and the staff member in whose
    session the PIN was made, with the button to disown it."""
    subject = kiosk_world.subject(pin=None)
    _colleague_chooses_the_pin(kiosk_client, subject)
    home = open_kiosk(kiosk_client, subject, language="en")
    today = kiosk_world.clock().strftime("%d-%m-%Y")
    assert f"Your PIN was made on {today}" in home
    assert "in the session of staff member counselor1" in home
    assert "I did not choose this PIN" in home


def test_a_disowned_pin_is_blocked_alerted_and_replaced_only_by_two_people(
    kiosk_world: World, kiosk_client: Client
) -> None:
    """ "I did not choose this PIN": the colleague's PIN signs nothing any more, the
    compliance officer gets a critical alert naming the colleague, the officer of the
    session cannot approve the reset, a second person can, and the subject then chooses."""
    services = kiosk_world.services
    subject = kiosk_world.subject(pin=None)
    _colleague_chooses_the_pin(kiosk_client, subject)
    reset_id = _disowned(kiosk_world, kiosk_client, subject)
    officer = Principal(kiosk_world.officers[ORG], Role.OFFICER, ORG)
    with pytest.raises(PinBlocked):
        services.consents.sign(officer, subject, _request(COLLEAGUE_PIN))
    with pytest.raises(PinBlocked):
        services.consents.verify_pin(subject, COLLEAGUE_PIN, officer)
    blocked = kiosk_client.post(
        "/kiosk/consents",
        data={"csrf_token": csrf_of(home_page(kiosk_client)), "pin": COLLEAGUE_PIN},
    )
    assert blocked.status_code == 403
    assert "PIN Anda diblokir" in blocked.text
    [event] = AuditQueries(services.db).iter_events(
        AuditFilters(subject_id=subject, action=EventAction.PIN_DISOWNED.value)
    )
    counselor = services.identity.user_by_name("counselor1")
    assert event["details"]["severity"] == "critical"
    assert event["details"]["pin_set_in_session_of"] == str(counselor.id)
    assert event["actor_id"] == str(kiosk_world.officers[ORG])
    events = AuditQueries(services.db).iter_events(AuditFilters(organization=ORG))
    alerts = [a for a in compute_alerts(events, AlertRules()) if a.rule == "pin_disowned"]
    assert [a.subject_id for a in alerts] == [str(subject)]
    own = login(kiosk_client, "officer1", PASSWORD)
    assert kiosk_client.post(f"/v1/pin-resets/{reset_id}/approve", headers=own).status_code == 403
    approver = login(kiosk_client, "compliance1", PASSWORD)
    [pending] = kiosk_client.get("/v1/pin-resets?state=pending", headers=approver).json()
    assert (pending["id"], pending["disowned"]) == (reset_id, True)
    approved = kiosk_client.post(f"/v1/pin-resets/{reset_id}/approve", headers=approver)
    assert approved.status_code == 200, approved.text
    page = kiosk_client.get("/kiosk/pin/forgot")
    chosen = kiosk_client.post(
        "/kiosk/pin/new",
        data={"csrf_token": csrf_of(page.text), "pin": NEW_PIN, "pin_again": NEW_PIN},
    )
    assert chosen.status_code == 200, chosen.text
    assert services.consents.verify_pin(subject, NEW_PIN, officer)
    services.consents.sign(officer, subject, _request(NEW_PIN))
    with pytest.raises(Forbidden):
        services.consents.sign(officer, subject, _request(COLLEAGUE_PIN))


def test_pending_resets_are_scoped_to_the_approvers_organisation(
    kiosk_world: World, kiosk_client: Client
) -> None:
    """Another organisation's approver sees none of this organisation's resets, the one
    who asked does not see their own, a role that may not approve is refused, and the
    listing is audited."""
    subject = kiosk_world.subject()
    home = open_kiosk(kiosk_client, subject)
    kiosk_client.post("/kiosk/pin/forgot", data={"csrf_token": csrf_of(home)})
    approver = login(kiosk_client, "compliance1", PASSWORD)
    listed = kiosk_client.get("/v1/pin-resets", params={"state": "pending"}, headers=approver)
    assert [r["subject_id"] for r in listed.json()] == [str(subject)]
    other = login(kiosk_client, "officer2", PASSWORD)
    assert kiosk_client.get("/v1/pin-resets", headers=other).json() == []
    requester = login(kiosk_client, "officer1", PASSWORD)
    assert kiosk_client.get("/v1/pin-resets", headers=requester).json() == []
    health = login(kiosk_client, "health1", PASSWORD)
    assert kiosk_client.get("/v1/pin-resets", headers=health).status_code == 403
    assert kiosk_client.get("/v1/pin-resets?state=approved", headers=approver).status_code == 400
    logged = AuditQueries(kiosk_world.services.db).iter_events(
        AuditFilters(action=EventAction.PIN_RESET_LIST.value)
    )
    assert [e["details"]["found"] for e in logged] == [1, 0, 0]
