"""The compliance officer's workbench on the dashboard: Bahasa Indonesia by default,
usernames and short subject ids, finding a subject by register number without it
leaving a trace, alerts with an audited acknowledgement scoped to the organisation,
and a chain status that no page load recomputes."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from litestar.testing import TestClient
from sqlalchemy import select

from tests.support import login
from tests.web.conftest import ORG, OTHER_ORG, PASSWORD, World, csrf_of, staff_login
from vault.audit.events import AuditEvent, Outcome
from vault.audit.models import EVENTS
from vault.subjects.registration import NewSubject
from vault.vocabulary import EventAction, Principal, Role

Client = TestClient  # type: ignore[type-arg]


def _hit(world: World, subject: uuid.UUID, username: str = "counselor1") -> None:
    """A honeytoken hit by ``username`` on ``subject`` (what the honeytoken hook records)."""
    from vault.identity.models import User

    with world.services.db.read_session() as session:
        user = session.execute(select(User).where(User.username == username)).scalar_one()
        reader = Principal(user.id, Role(user.role), user.organization)
    world.services.audit.append(
        AuditEvent.by(reader, EventAction.HONEYTOKEN_HIT, Outcome.INFO, subject_id=subject)
    )


def _registered(world: World, organization: str, number: str) -> uuid.UUID:
    """A subject of ``organization`` registered with this register number."""
    officer = Principal(world.officers[organization], Role.OFFICER, organization)
    return world.services.subjects.register(
        officer,
        NewSubject(
            full_name="Siti Aminah",
            nik=f"{abs(hash(number)) % 10**16:016d}",
            register_number=number,
            date_of_birth=date(1988, 1, 2),
            organization=organization,
        ),
    )


def _canonical_log(world: World) -> bytes:
    with world.services.db.read_session() as session:
        return b"".join(bytes(c) for c in session.execute(select(EVENTS.c.canonical)).scalars())


def test_the_dashboard_speaks_bahasa_indonesia_by_default_and_english_by_a_switch(
    world: World, client: Client
) -> None:
    """The login page and the dashboard are in Bahasa Indonesia; the switch turns them English."""
    assert "Masuk petugas kepatuhan" in client.get("/dashboard/login").text
    page = staff_login(client, "compliance1", "/dashboard/login")
    assert "Dasbor kepatuhan" in page
    assert "Peringatan" in page
    switched = client.post(
        "/dashboard/language", data={"csrf_token": csrf_of(page), "language": "en"}
    )
    assert "Compliance dashboard" in switched.text
    assert "Alerts" in switched.text


def test_a_language_switch_without_the_csrf_token_changes_nothing(
    world: World, client: Client
) -> None:
    """A forged language switch (no CSRF token) is refused."""
    staff_login(client, "compliance1", "/dashboard/login")
    forged = client.post("/dashboard/language", data={"language": "en"})
    assert forged.status_code == 403
    assert "Dasbor kepatuhan" in client.get("/dashboard").text


def test_events_show_usernames_and_filter_by_username(world: World, client: Client) -> None:
    """The table names the actor by username; the username filter keeps only their events."""
    subject = world.subject()
    _hit(world, subject)
    staff_login(client, "compliance1", "/dashboard/login")
    page = client.get("/dashboard", params={"person": "counselor1"}).text
    assert "counselor1" in page
    assert f'href="/dashboard?subject={subject}"' in page
    assert "honeytoken.hit" in page
    assert "auth.login" not in page
    unknown = client.get("/dashboard", params={"person": "nobody-here"}).text
    assert "honeytoken.hit" not in unknown


def test_another_organisations_username_filters_nothing_in(world: World, client: Client) -> None:
    """Filtering by another organisation's username shows none of that person's events."""
    staff_login(client, "compliance1", "/dashboard/login")
    page = client.get("/dashboard", params={"person": "officer2"}).text
    assert "subject.register" not in page


def test_finding_a_subject_by_register_number_leaves_no_trace_of_it(
    world: World, client: Client
) -> None:
    """A register number finds the subject; it is in no URL and nowhere in the audit log."""
    number = "REG-7731-2026"
    subject = _registered(world, ORG, number)
    page = staff_login(client, "compliance1", "/dashboard/login")
    found = client.post(
        "/dashboard/find",
        data={"csrf_token": csrf_of(page), "kind": "register_number", "identifier": number},
        follow_redirects=False,
    )
    assert found.status_code == 303
    assert found.headers["location"] == f"/dashboard?subject={subject}"
    assert number not in found.headers["location"]
    assert number.encode() not in _canonical_log(world)


def test_another_organisations_subject_is_not_found_by_number(world: World, client: Client) -> None:
    """A register number of another organisation's subject answers as an unknown one."""
    number = "REG-9904-2026"
    _registered(world, OTHER_ORG, number)
    page = staff_login(client, "compliance1", "/dashboard/login")
    found = client.post(
        "/dashboard/find",
        data={"csrf_token": csrf_of(page), "kind": "register_number", "identifier": number},
        follow_redirects=False,
    )
    assert found.headers["location"] == "/dashboard?notfound=1"


def test_alerts_show_and_are_acknowledged_with_an_audited_note(
    world: World, client: Client
) -> None:
    """A honeytoken hit shows as an alert; acknowledging it records the note in the log."""
    _hit(world, world.subject())
    page = staff_login(client, "compliance1", "/dashboard/login")
    assert "Data umpan disentuh" in page
    alert = page.split("/dashboard/alerts/")[1].split("/")[0]
    done = client.post(
        f"/dashboard/alerts/{alert}/acknowledge",
        data={"csrf_token": csrf_of(page), "note": "diperiksa dengan kepala unit"},
    )
    assert "Sudah ditinjau: diperiksa dengan kepala unit" in done.text
    assert b"diperiksa dengan kepala unit" in _canonical_log(world)
    assert EventAction.AUDIT_ALERT_ACKNOWLEDGE.value.encode() in _canonical_log(world)


def test_another_organisations_alert_answers_as_missing(world: World, client: Client) -> None:
    """An alert of another organisation cannot be seen or acknowledged (404 as for none)."""
    _hit(world, world.subject(organization=OTHER_ORG), username="officer2")
    page = staff_login(client, "compliance1", "/dashboard/login")
    assert "Data umpan disentuh" not in page
    from vault.audit.alert_store import alerts_of
    from vault.audit.alerts import rules_from

    theirs = alerts_of(
        world.services.db, OTHER_ORG, rules_from(world.services.settings), world.clock()
    )
    assert theirs
    refused = client.post(
        f"/dashboard/alerts/{theirs[0].id}/acknowledge",
        data={"csrf_token": csrf_of(page), "note": "x"},
    )
    missing = client.post(
        f"/dashboard/alerts/{'0' * 24}/acknowledge",
        data={"csrf_token": csrf_of(page), "note": "x"},
    )
    assert refused.status_code == missing.status_code == 404
    assert refused.text == missing.text


def test_the_alerts_api_lists_and_acknowledges_for_compliance_officers_only(
    world: World, client: Client
) -> None:
    """GET /v1/audit/alerts lists the organisation's alerts; a counselor is refused."""
    _hit(world, world.subject())
    officer = login(client, "compliance1", PASSWORD)
    listed = client.get("/v1/audit/alerts", headers=officer)
    assert listed.status_code == 200
    alerts: list[dict[str, Any]] = listed.json()["alerts"]
    assert [a["rule"] for a in alerts] == ["honeytoken"]
    done = client.post(
        f"/v1/audit/alerts/{alerts[0]['id']}/acknowledge", json={"note": "ok"}, headers=officer
    )
    assert done.status_code == 200
    assert done.json()["acknowledged"]
    counselor = login(client, "counselor1", PASSWORD)
    assert client.get("/v1/audit/alerts", headers=counselor).status_code == 403
    refused = client.post(
        f"/v1/audit/alerts/{alerts[0]['id']}/acknowledge", json={"note": "x"}, headers=counselor
    )
    assert refused.status_code == 403


def test_page_loads_show_the_stored_verification_and_never_verify(
    world: World, client: Client
) -> None:
    """Loading the page verifies nothing; "verify now" runs it once and its result shows."""
    page = staff_login(client, "compliance1", "/dashboard/login")
    assert "belum pernah diverifikasi" in page
    verified = client.post("/dashboard/verify", data={"csrf_token": csrf_of(page)})
    assert "Rantai utuh pada verifikasi terakhir" in verified.text
    before = _canonical_log(world).count(b'"audit.verify"')
    client.get("/dashboard")
    assert _canonical_log(world).count(b'"audit.verify"') == before


def test_the_accounting_of_disclosures_is_printable_and_its_digest_is_in_the_log(
    world: World, client: Client
) -> None:
    """The report lists who read which categories for what, and the log holds its digest."""
    subject = world.subject()
    world.record_read("counselor1", subject)
    staff_login(client, "compliance1", "/dashboard/login")
    page = client.get(f"/dashboard/subjects/{subject}/disclosures").text
    assert "Laporan pengungkapan data" in page
    assert "counselor1" in page
    assert "psychological" in page
    digest = page.split("SHA-256 ")[1].split("<")[0]
    assert f'"report_sha256":"{digest}"'.encode() in _canonical_log(world).replace(b" ", b"")


def test_another_organisations_disclosures_answer_as_a_missing_subject(
    world: World, client: Client
) -> None:
    """Another organisation's subject's report answers exactly like a subject that is not."""
    staff_login(client, "compliance1", "/dashboard/login")
    theirs = client.get(f"/dashboard/subjects/{world.subject(organization=OTHER_ORG)}/disclosures")
    missing = client.get(f"/dashboard/subjects/{uuid.uuid4()}/disclosures")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.text == missing.text


def test_the_chart_has_a_table_of_its_numbers(world: World, client: Client) -> None:
    """Behind the chart, a table gives each day's allowed and refused counts."""
    page = staff_login(client, "compliance1", "/dashboard/login")
    table = page.split("Angka di balik grafik (tabel)")[1].split("</table>")[0]
    today = world.clock().date().isoformat()
    assert f"<td>{today}</td>" in table
