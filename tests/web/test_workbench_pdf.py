"""The accounting of disclosures as a PDF: downloadable by the organisation's compliance
officer only, its bytes' hash and the report's digest recorded in the log first."""

from __future__ import annotations

import hashlib
import html
import json
import uuid

from litestar.testing import TestClient
from sqlalchemy import select

from tests.audit.verifier import altered, verify_log
from tests.web.conftest import OTHER_ORG, World, staff_login
from vault.audit.canonical import decode
from vault.audit.models import EVENTS
from vault.vocabulary import EventAction

Client = TestClient  # type: ignore[type-arg]


def _disclosure_events(world: World) -> list[dict[str, object]]:
    with world.services.db.read_session() as session:
        rows = session.execute(
            select(EVENTS.c.canonical).where(EVENTS.c.action == EventAction.AUDIT_DISCLOSURES.value)
        ).scalars()
        return [decode(bytes(row)) for row in rows]


def test_the_pdf_is_downloaded_and_its_hash_is_in_the_log(world: World, client: Client) -> None:
    """The PDF names the reader; the log holds the SHA-256 of exactly the bytes sent."""
    subject = world.subject(pin=None)
    world.record_read("counselor1", subject)
    staff_login(client, "compliance1", "/dashboard/login")
    page = client.get(f"/dashboard/subjects/{subject}/disclosures").text
    assert f"/dashboard/subjects/{subject}/disclosures.pdf" in page
    response = client.get(f"/dashboard/subjects/{subject}/disclosures.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    recorded = _disclosure_events(world)[-1]
    details = recorded["details"]
    assert isinstance(details, dict)
    assert details["format"] == "pdf"
    assert details["pdf_sha256"] == hashlib.sha256(response.content).hexdigest()
    text = response.content.decode("latin-1")
    assert json.dumps(details["report_sha256"]).strip('"') in text
    assert "counselor1" in text
    assert "Laporan pengungkapan data" in text


def test_another_organisations_pdf_answers_as_a_missing_subject(
    world: World, client: Client
) -> None:
    """Another organisation's subject's PDF answers like a subject that does not exist."""
    staff_login(client, "compliance1", "/dashboard/login")
    theirs = client.get(
        f"/dashboard/subjects/{world.subject(organization=OTHER_ORG)}/disclosures.pdf"
    )
    missing = client.get(f"/dashboard/subjects/{uuid.uuid4()}/disclosures.pdf")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.text == missing.text
    assert _disclosure_events(world) == []


def test_the_report_and_its_pdf_carry_proofs_a_court_can_check(
    world: World, client: Client
) -> None:
    """The printed report's proofs verify with tools/verify_log.py; one altered read fails;
    the PDF carries the same signed head."""
    subject = world.subject(pin=None)
    for purpose in ("counseling", "social_reintegration"):
        world.record_read("counselor1", subject, purpose)
    staff_login(client, "compliance1", "/dashboard/login")
    page = client.get(f"/dashboard/subjects/{subject}/disclosures").text
    block = page.split('<pre class="proofs">', 1)[1].split("</pre>", 1)[0]
    proofs = json.loads(html.unescape(block))
    assert len(proofs["inclusions"]) == 2
    ok, report = verify_log(proofs)
    assert ok, report
    ok, _ = verify_log(altered(proofs, 1))
    assert not ok
    pdf = client.get(f"/dashboard/subjects/{subject}/disclosures.pdf").content
    first_line = proofs["head"].splitlines()[0]
    assert first_line.encode() in pdf
