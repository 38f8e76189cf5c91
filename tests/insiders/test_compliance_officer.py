"""A compliance officer of another organisation tries to read what is not theirs.

The world: a lapas (``rutan-jakpus``) holds a subject with records, a consent
and a break-glass grant; a sentra (``sentra-handayani``) has its own compliance
officer, Mallory. Every test plays Mallory (or a bad client) over HTTP or the
dashboard, and checks the vault answers as if the lapas's things did not exist.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.support import DEFAULT_PASSWORD, create_user, insert_unsigned_consent, login
from tests.world import ORG, SUBJECT_PIN, World, build_world
from vault.app import create_app
from vault.config import Settings
from vault.vocabulary import Principal, Role

OTHER_ORG = "sentra-handayani"
JUSTIFICATION = "JUSTIFICATION-CANARY seizure in the cell block"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def world(settings: Settings) -> Iterator[World]:
    """The lapas's world (tests.world), a record read, a break-glass grant, and Mallory."""
    for built in build_world(settings):
        record = built.create_record(
            "counselor",
            "psychological_assessment",
            {"instrument": "SRQ-20", "summary": "calm", "risk_level": "low"},
        )
        assert built.read("counselor", record, "counseling").status_code == 200
        built.post(
            "health",
            f"/v1/subjects/{built.subject_id}/break-glass",
            {"justification": JUSTIFICATION},
        )
        create_user(built.services, "mallory", "compliance_officer", OTHER_ORG)
        built.headers["mallory"] = login(built.client, "mallory")
        yield built


def _events(world: World, who: str, **params: str) -> list[dict[str, Any]]:
    response = world.client.get("/v1/audit/events", params=params, headers=world.auth(who))
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["events"]
    return events


def _without_request_id(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key != "request_id"}


@pytest.fixture
def browser(world: World) -> Iterator[TestClient[Any]]:
    """A browser on the loopback address (where session cookies need no TLS)."""
    app = create_app(world.services.settings, services=world.services)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield client


def _dashboard_login(browser: TestClient[Any], username: str) -> Any:
    page = browser.get("/dashboard/login")
    token = CSRF.search(page.text)
    assert token is not None
    return browser.post(
        "/dashboard/login",
        data={"csrf_token": token.group(1), "username": username, "password": DEFAULT_PASSWORD},
    )


def test_another_organisations_events_are_not_in_the_log_it_reads(world: World) -> None:
    """Mallory's event list holds nothing of the lapas: no event of its staff or subject."""
    mine = _events(world, "mallory", limit="1000")
    assert mine, "Mallory sees at least her own queries"
    assert all(event["actor_org"] == OTHER_ORG for event in mine)
    assert all(event["subject_id"] != world.subject_id for event in mine)
    theirs = _events(world, "compliance", limit="1000")
    assert any(event["subject_id"] == world.subject_id for event in theirs)


def test_another_organisations_subject_filters_like_an_unknown_one(world: World) -> None:
    """Filtering on the lapas's subject gives Mallory what an unknown id gives: her own query."""
    known = _events(world, "mallory", subject_id=world.subject_id)
    unknown = _events(world, "mallory", subject_id=world.missing_id)
    assert [e["action"] for e in known] == [e["action"] for e in unknown] == ["audit.query"]
    assert all(e["actor_org"] == OTHER_ORG for e in known)


def test_the_export_holds_only_the_organisations_events(world: World) -> None:
    """Neither export format carries an event of the lapas's subject or staff to Mallory."""
    for export_format in ("jsonl", "csv"):
        response = world.client.get(
            "/v1/audit/export", params={"format": export_format}, headers=world.auth("mallory")
        )
        assert response.status_code == 200
        assert world.subject_id not in response.text
        assert "rutan-jakpus" not in response.text


def test_disclosures_of_another_organisations_subject_answer_like_a_missing_one(
    world: World,
) -> None:
    """Mallory gets the same 404 problem for the lapas's subject as for no subject at all."""
    known = world.client.get(
        f"/v1/subjects/{world.subject_id}/disclosures", headers=world.auth("mallory")
    )
    unknown = world.client.get(
        f"/v1/subjects/{world.missing_id}/disclosures", headers=world.auth("mallory")
    )
    assert known.status_code == unknown.status_code == 404
    assert _without_request_id(known.json()) == _without_request_id(unknown.json())
    own = world.client.get(
        f"/v1/subjects/{world.subject_id}/disclosures", headers=world.auth("compliance")
    )
    assert own.status_code == 200
    assert own.json()["disclosures"]


def test_a_consent_read_by_a_recipient_is_seen_by_both_organisations(world: World) -> None:
    """A sentra counselor's read of the lapas's subject is in both compliance officers' logs."""
    world.post(
        "officer",
        f"/v1/subjects/{world.subject_id}/consents",
        {
            "form_id": "rehabilitation",
            "form_version": 1,
            "language": "id",
            "granted_purposes": ["handover_kemensos"],
            "recipients": {"handover_kemensos": [OTHER_ORG]},
            "signature": {"method": "pin", "pin": SUBJECT_PIN},
        },
    )
    create_user(world.services, "sandra", "counselor", OTHER_ORG)
    sandra = login(world.client, "sandra")
    world.client.get(
        f"/v1/subjects/{world.subject_id}/records", params={"purpose": "counseling"}, headers=sandra
    )
    sandra_id = str(world.services.identity.user_by_name("sandra").id)
    for who in ("compliance", "mallory"):
        actors = {e["actor_id"] for e in _events(world, who, subject_id=world.subject_id)}
        assert sandra_id in actors, who


def test_integrity_checks_name_only_the_organisations_findings(world: World) -> None:
    """A consent forged into the lapas's tables is named to its officer, not to Mallory."""
    forged = insert_unsigned_consent(
        world.services.db, uuid.UUID(world.subject_id), uuid.UUID(world.user_ids["officer"])
    )
    theirs = world.client.get("/v1/audit/consent-check", headers=world.auth("compliance")).json()
    assert str(forged) in {m["consent_id"] for m in theirs["mismatches"]}
    mine = world.client.get("/v1/audit/consent-check", headers=world.auth("mallory")).json()
    assert mine == {"ok": True, "mismatches": []}
    access = world.client.get("/v1/audit/access-check", headers=world.auth("mallory"))
    assert access.status_code == 200
    assert world.subject_id not in access.text


def test_verify_covers_the_whole_chain_and_names_no_content(world: World) -> None:
    """Mallory may verify the chain: counts and a verdict, nothing of any event."""
    response = world.client.get("/v1/audit/verify", headers=world.auth("mallory"))
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert set(body) == {
        "ok",
        "events",
        "checkpoints",
        "first_bad_seq",
        "problem",
        "first_seq",
        "from_head",
        "full",
    }
    assert world.subject_id not in response.text


def test_other_roles_are_refused_by_the_policy(world: World) -> None:
    """A counselor or an admin of the lapas is refused every audit route (403), and it is logged."""
    for who in ("counselor", "admin"):
        for path in ("/v1/audit/events", "/v1/audit/verify", "/v1/audit/checkpoints"):
            response = world.client.get(path, headers=world.auth(who))
            assert response.status_code == 403, (who, path)
    denied = _events(world, "compliance", decision="deny", action="audit.verify")
    assert {e["actor_id"] for e in denied} >= {world.user_ids["counselor"], world.user_ids["admin"]}


def test_the_dashboard_shows_mallory_nothing_of_the_lapas(
    world: World, browser: TestClient[Any]
) -> None:
    """Events, break-glass grants with their justification, openers: none of the lapas's."""
    assert _dashboard_login(browser, "mallory").status_code == 200
    page = browser.get("/dashboard")
    assert page.status_code == 200
    assert world.subject_id not in page.text
    assert JUSTIFICATION not in page.text
    assert world.user_ids["health"] not in page.text
    export = browser.get("/dashboard/export", params={"format": "jsonl"})
    assert export.status_code == 200
    assert world.subject_id not in export.text
    browser.cookies.clear()
    assert _dashboard_login(browser, "compliance").status_code == 200
    own = browser.get("/dashboard").text
    assert JUSTIFICATION in own
    assert world.subject_id in own


def _today_allowed(page: str) -> int:
    counts = re.findall(r"<title>\d{4}-\d{2}-\d{2}: (\d+) [^<]*</title>", page)
    return int(counts[-2])  # the last day's pair: allowed, then denied


def test_the_dashboard_chart_counts_only_the_organisations_decisions(
    world: World, browser: TestClient[Any]
) -> None:
    """The lapas's reads today do not move Mallory's chart of accesses per day."""
    _dashboard_login(browser, "mallory")
    before = _today_allowed(browser.get("/dashboard").text)
    for _ in range(5):
        world.client.get(
            f"/v1/subjects/{world.subject_id}/records",
            params={"purpose": "counseling"},
            headers=world.auth("counselor"),
        )
    # Only her own second view of the page (an allowed audit.query) is new to her.
    assert _today_allowed(browser.get("/dashboard").text) == before + 1
    browser.cookies.clear()
    _dashboard_login(browser, "compliance")
    assert _today_allowed(browser.get("/dashboard").text) >= 5


def test_the_dashboard_names_who_opens_most_break_glass_grants(
    world: World, browser: TestClient[Any]
) -> None:
    """The lapas's officer sees its health officer as a break-glass opener; Mallory does not."""
    _dashboard_login(browser, "compliance")
    page = browser.get("/dashboard").text
    panel = page.split('id="openers-h"', 1)[1].split("</section>", 1)[0]
    assert "health" in panel
    assert world.user_ids["health"] in panel
    browser.cookies.clear()
    _dashboard_login(browser, "mallory")
    page = browser.get("/dashboard").text
    panel = page.split('id="openers-h"', 1)[1].split("</section>", 1)[0]
    assert world.user_ids["health"] not in panel


def test_a_disabled_account_loses_the_dashboard_at_once(
    world: World, browser: TestClient[Any]
) -> None:
    """The dashboard re-checks the account on every request: disabled, the session opens nothing."""
    _dashboard_login(browser, "mallory")
    assert browser.get("/dashboard", follow_redirects=False).status_code == 200
    world.services.identity.disable_user(world.services.identity.user_by_name("mallory").id)
    refused = browser.get("/dashboard", follow_redirects=False)
    assert refused.status_code == 303
    assert refused.headers["location"].startswith("/dashboard/login")


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "99999999999999999999"},
        {"cursor": "9999999999999999999"},
        {"since": "0001-01-01T00:00:00+14:00"},
        {"until": "9999-12-31T23:59:59-14:00"},
    ],
)
def test_out_of_range_filters_are_a_clear_4xx(world: World, params: dict[str, str]) -> None:
    """A cursor beyond 64 bits or a time outside the calendar once in UTC is a 4xx problem."""
    paths = ["/v1/audit/events"] if "cursor" in params else ["/v1/audit/events", "/v1/audit/export"]
    for path in paths:
        response = world.client.get(path, params=params, headers=world.auth("mallory"))
        assert 400 <= response.status_code < 500, (path, response.status_code)
        assert response.headers["content-type"].startswith("application/problem+json")


def test_the_dashboard_takes_the_last_day_of_the_calendar(
    world: World, browser: TestClient[Any]
) -> None:
    """A dashboard filter until 9999-12-31 shows the page (no bound), and its export works."""
    _dashboard_login(browser, "mallory")
    assert browser.get("/dashboard", params={"until": "9999-12-31"}).status_code == 200
    export = browser.get("/dashboard/export", params={"until": "9999-12-31", "format": "csv"})
    assert export.status_code == 200


def test_another_organisations_grant_cannot_be_reviewed_from_the_dashboard(
    world: World, browser: TestClient[Any]
) -> None:
    """Mallory's review of the lapas's break-glass grant is a 404 as for no grant; it stays open."""
    lapas = Principal(uuid.UUID(world.user_ids["compliance"]), Role.COMPLIANCE_OFFICER, ORG)
    grant = world.services.access.break_glass_grants(lapas, pending=True)[0]
    _dashboard_login(browser, "mallory")
    token = CSRF.search(browser.get("/dashboard").text)
    assert token is not None
    for grant_id in (grant.id, uuid.uuid4()):
        response = browser.post(
            f"/dashboard/break-glass/{grant_id}/review",
            data={"csrf_token": token.group(1), "outcome": "justified"},
            follow_redirects=False,
        )
        assert response.status_code == 404
        assert response.text == "No such break-glass grant."
    pending = world.services.access.break_glass_grants(lapas, pending=True)
    assert grant.id in {g.id for g in pending}


@pytest.mark.parametrize(
    "purpose", ["counseling", "social_reintegration", "administration", "emergency"]
)
def test_the_compliance_officer_reads_no_field_of_their_own_organisations_subject(
    world: World, purpose: str
) -> None:
    """Neither the record, the listing, the audit log, its exports nor the disclosures give
    the compliance officer of the subject's own organisation a field's value."""
    summary = "calm-and-cooperative-CANARY"
    record = world.create_record(
        "counselor",
        "psychological_assessment",
        {"instrument": "SRQ-20", "summary": summary, "risk_level": "low"},
    )
    assert world.read("counselor", record, "counseling").status_code == 200
    read = world.read("compliance", record, purpose)
    assert read.status_code in (403, 404), read.text
    assert summary not in read.text
    listing = world.client.get(
        f"/v1/subjects/{world.subject_id}/records",
        params={"purpose": purpose},
        headers=world.auth("compliance"),
    )
    assert summary not in listing.text
    assert listing.status_code in (403, 404) or listing.json() == [], listing.text
    for path, params in (
        ("/v1/audit/events", {}),
        ("/v1/audit/export", {"format": "jsonl"}),
        ("/v1/audit/export", {"format": "csv"}),
        (f"/v1/subjects/{world.subject_id}/disclosures", {}),
    ):
        answer = world.client.get(path, params=params, headers=world.auth("compliance"))
        assert answer.status_code == 200, (path, answer.text)
        assert summary not in answer.text
        assert "SRQ-20" not in answer.text
