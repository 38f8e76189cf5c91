"""The right of access at the kiosk: the subject's own copy of everything held, behind the PIN."""

from __future__ import annotations

import json

from litestar.testing import TestClient

from tests.web.conftest import PIN, World, csrf_of, open_kiosk
from tests.web.kiosk_support import sign_all
from vault.audit.queries import AuditFilters, AuditQueries


def test_subject_downloads_a_copy_of_their_data_with_the_pin(
    world: World,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """With the right PIN the subject gets JSON with their identity, consents and receipts."""
    subject = world.subject()
    open_kiosk(client, subject)
    sign_all(client, refuse=frozenset({"handover_kemensos"}))
    page = client.get("/kiosk/my-data")
    assert page.status_code == 200
    response = client.post("/kiosk/my-data", data={"csrf_token": csrf_of(page.text), "pin": PIN})
    assert response.status_code == 200, response.text
    assert "attachment" in response.headers["content-disposition"]
    copy = json.loads(response.text)
    assert copy["subject_id"] == str(subject)
    assert copy["consents"]
    assert copy["receipts"]
    exports = AuditQueries(world.services.db).events(
        AuditFilters(subject_id=subject, action="subject.export")
    )
    assert len(exports.events) == 1


def test_wrong_pin_gives_no_copy(
    world: World,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """A wrong PIN returns the page with an error and nothing of the subject's data."""
    subject = world.subject()
    open_kiosk(client, subject)
    page = client.get("/kiosk/my-data")
    response = client.post(
        "/kiosk/my-data", data={"csrf_token": csrf_of(page.text), "pin": "000000"}
    )
    assert response.status_code == 403
    assert str(subject) not in response.text
    assert "PIN salah" in response.text


def test_export_without_csrf_token_is_refused(
    world: World,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """A cross-site form post cannot make the kiosk hand out the copy."""
    subject = world.subject()
    open_kiosk(client, subject)
    response = client.post("/kiosk/my-data", data={"pin": PIN})
    assert response.status_code in (400, 403)
    assert str(subject) not in response.text
