"""The right of access at the kiosk: the subject's own copy of everything held, behind the PIN."""

from __future__ import annotations

import html
import json
import re
import uuid

from litestar.testing import TestClient

from tests.audit.verifier import altered, verify_log
from tests.web.conftest import PIN, World, csrf_of, open_kiosk
from tests.web.kiosk_support import sign_all
from vault.audit.events import AuditEvent, Outcome
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


def _reads(world: World, subject: uuid.UUID, count: int) -> None:
    """``count`` allowed reads of the subject's records by a counselor, as the log has them."""
    for _ in range(count):
        world.services.audit.append(
            AuditEvent(
                action="record.read",
                outcome=Outcome.ALLOW,
                actor_role="counselor",
                actor_org="rutan-jakpus",
                subject_id=subject,
                categories=("psychological",),
                purpose="counseling",
            )
        )


def test_the_copy_proves_every_read_against_a_signed_head(
    world: World,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """The copy verifies with tools/verify_log.py as downloaded; one altered read fails."""
    subject = world.subject()
    _reads(world, subject, 3)
    open_kiosk(client, subject)
    page = client.get("/kiosk/my-data")
    response = client.post("/kiosk/my-data", data={"csrf_token": csrf_of(page.text), "pin": PIN})
    copy = json.loads(response.text)
    seqs = sorted(d["seq"] for d in copy["disclosures"])
    assert len(seqs) >= 3
    assert [item["index"] + 1 for item in copy["proofs"]["inclusions"]] == seqs
    ok, report = verify_log(copy)
    assert ok, report
    ok, report = verify_log(altered(copy, 0))
    assert not ok
    assert f"FAIL: event {seqs[0]}" in report


def test_the_who_read_my_data_page_shows_the_head_and_the_proofs(
    world: World,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """After the PIN, the page holds the signed head and a proof per read, which verify."""
    subject = world.subject()
    _reads(world, subject, 2)
    open_kiosk(client, subject)
    page = client.get("/kiosk/disclosures")
    shown = client.post("/kiosk/disclosures", data={"csrf_token": csrf_of(page.text), "pin": PIN})
    assert shown.status_code == 200
    found = re.search(r'<pre class="proofs">(.*?)</pre>', shown.text, re.S)
    assert found is not None
    proofs = json.loads(html.unescape(found.group(1)))
    assert len(proofs["inclusions"]) == 2
    assert proofs["head"].split("\n")[0] == "vault.local/audit"
    ok, report = verify_log(proofs)
    assert ok, report
