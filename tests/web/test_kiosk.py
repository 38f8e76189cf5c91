"""The kiosk through the Litestar TestClient: the flow, binding to one subject, expiry, CSRF."""

from __future__ import annotations

import uuid

from litestar.testing import TestClient

from tests.web.conftest import PIN, World, csrf_of, open_kiosk, staff_login
from tests.web.kiosk_support import FORM, sign_all
from vault.web.common import KIOSK_COOKIE


def test_adult_signs_and_gets_a_receipt_with_a_verification_code(
    world: World,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """An adult walks the purposes, signs with the PIN and sees a receipt naming a code."""
    subject = world.subject()
    open_kiosk(client, subject)
    html = sign_all(client, refuse=frozenset({"handover_kemensos"}))
    assert "Tanda terima persetujuan" in html
    assert "Kode verifikasi" in html
    grants = world.services.consents.active_consents(subject, world.clock())
    assert {g.purpose for g in grants} >= {"counseling"}
    assert "handover_kemensos" not in {g.purpose for g in grants}


def test_wrong_pin_is_refused_and_nothing_is_signed(
    world: World,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """A wrong PIN gives the page again with an error and records no consent."""
    subject = world.subject()
    open_kiosk(client, subject)
    page = client.get(f"/kiosk/forms/{FORM}/purposes/1")
    form = world.services.consents.form(FORM)
    for _ in form.purposes:
        page = client.post(
            str(page.url.path), data={"csrf_token": csrf_of(page.text), "choice": "refuse"}
        )
    response = client.post(
        f"/kiosk/forms/{FORM}/sign", data={"csrf_token": csrf_of(page.text), "pin": "000000"}
    )
    assert response.status_code == 403
    assert "PIN salah" in response.text
    assert world.services.consents.active_for_display(subject, "id") == []


def test_kiosk_session_reaches_nothing_of_another_subject(
    world: World,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """With a kiosk cookie for A, B's consent receipt and withdrawal are 'not found',
    and staff-only or dashboard pages are refused."""
    a, b = world.subject(), world.subject()
    # B signs through a kiosk session of its own.
    open_kiosk(client, b)
    sign_all(client, refuse=frozenset({"handover_kemensos"}))
    b_consent = world.services.consents.active_consents(b, world.clock())[0].consent_id
    client.cookies.clear()
    open_kiosk(client, a)
    for path in (
        f"/kiosk/receipts/{b_consent}",
        f"/kiosk/consents/{b_consent}/withdraw",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert str(b) not in response.text
    home = client.get("/kiosk/home").text
    withdraw = client.post(
        f"/kiosk/consents/{b_consent}/withdraw", data={"csrf_token": csrf_of(home), "pin": PIN}
    )
    assert withdraw.status_code == 404
    assert world.services.consents.active_consents(b, world.clock())
    # The kiosk cookie opens no staff page, no dashboard and no API.
    assert client.get("/kiosk/start", follow_redirects=False).status_code == 303
    assert client.get("/dashboard", follow_redirects=False).status_code == 303
    cookie = client.cookies.get(KIOSK_COOKIE)
    api = client.get(f"/v1/subjects/{b}/consents", headers={"Authorization": f"Bearer {cookie}"})
    assert api.status_code == 401
    # Nowhere can the kiosk name a subject: a subject id in a form field is ignored.
    start = client.post(
        "/kiosk/start",
        data={"csrf_token": csrf_of(home), "subject_id": str(b)},
        follow_redirects=False,
    )
    assert start.status_code == 303
    assert "login" in start.headers["location"] or "ended" in start.headers["location"]


def test_kiosk_session_expires_after_inactivity(
    world: World,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """After the idle timeout the kiosk cookie opens nothing and the tablet is sent away."""
    subject = world.subject()
    open_kiosk(client, subject)
    world.clock.advance(seconds=world.services.settings.kiosk_idle_seconds - 1)
    assert client.get("/kiosk/home").status_code == 200  # activity resets the timer
    world.clock.advance(seconds=world.services.settings.kiosk_idle_seconds)
    response = client.get("/kiosk/home", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/kiosk/ended")
    assert client.get("/kiosk/consents", follow_redirects=False).status_code == 303


def test_forms_without_the_csrf_token_are_refused(
    world: World,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """A POST with a missing or wrong CSRF token changes nothing (choice, sign, login, start)."""
    subject = world.subject()
    open_kiosk(client, subject)
    for token in (None, "forged", "A" * 43):
        data = {"choice": "accept"} if token is None else {"choice": "accept", "csrf_token": token}
        response = client.post(f"/kiosk/forms/{FORM}/purposes/1", data=data)
        assert response.status_code == 403
        response = client.post(f"/kiosk/forms/{FORM}/sign", data={**data, "pin": PIN})
        assert response.status_code == 403
    assert world.services.consents.active_for_display(subject, "id") == []
    client.cookies.clear()
    client.get("/kiosk/login")
    response = client.post(
        "/kiosk/login",
        data={"csrf_token": "forged", "username": "officer1", "password": "x"},
    )
    assert response.status_code == 403


def test_staff_start_needs_a_subject_of_their_own_organisation(
    world: World,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """Staff cannot open a kiosk session for a subject of another organisation or a made-up id."""
    from tests.web.conftest import OTHER_ORG

    elsewhere = world.subject(organization=OTHER_ORG)
    start = staff_login(client)
    for subject_id in (str(elsewhere), str(uuid.uuid4()), "<script>alert(1)</script>"):
        response = client.post(
            "/kiosk/start", data={"csrf_token": csrf_of(start), "subject_id": subject_id}
        )
        assert response.status_code == 404
        assert "<script>alert" not in response.text


def test_other_roles_cannot_use_the_kiosk(world: World, client: TestClient) -> None:  # type: ignore[type-arg]
    """A health officer or compliance officer is refused at the kiosk login."""
    for username in ("health1", "compliance1"):
        page = client.get("/kiosk/login")
        response = client.post(
            "/kiosk/login",
            data={
                "csrf_token": csrf_of(page.text),
                "username": username,
                "password": "correct horse battery staple",
            },
        )
        assert response.status_code == 403
        assert client.get("/kiosk/start", follow_redirects=False).status_code == 303
