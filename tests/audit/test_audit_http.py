"""The audit HTTP API: compliance officers only, filters, pages, exports, verify, disclosures."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator

import pytest
from litestar.testing import TestClient
from sqlalchemy import text

from tests.audit.conftest import sample_event
from tests.audit.verifier import altered, verify_log
from tests.support import create_user, insert_subject, login
from vault.app import create_app
from vault.audit.checkpoints import from_jsonl
from vault.audit.events import AuditEvent, Outcome
from vault.config import Settings
from vault.services import Services, build_services

Client = TestClient  # type: ignore[type-arg]  # (the app's state type is not needed here)


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    built = build_services(settings, migrate=True)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def client(settings: Settings, services: Services) -> Iterator[Client]:
    with TestClient(create_app(settings, services)) as test_client:
        yield test_client


@pytest.fixture
def subject(services: Services) -> uuid.UUID:
    """A subject held by the compliance officer's organisation."""
    return insert_subject(services, "rutan-jakpus")


@pytest.fixture
def officer(services: Services, client: Client) -> dict[str, str]:
    """The Authorization header of a compliance officer."""
    create_user(services, "cora", "compliance_officer", "rutan-jakpus")
    return login(client, "cora")


def test_only_compliance_officers_read_the_audit_log(
    subject: uuid.UUID, services: Services, client: Client
) -> None:
    """Every audit route answers 401 without a token and 403 to a counselor or an admin."""
    create_user(services, "cindy", "counselor", "rutan-jakpus")
    create_user(services, "adam", "admin", "rutan-jakpus")
    paths = [
        "/v1/audit/events",
        "/v1/audit/export?format=csv",
        "/v1/audit/checkpoints",
        "/v1/audit/verify",
        f"/v1/subjects/{subject}/disclosures",
    ]
    for path in paths:
        assert client.get(path).status_code == 401
        for user in ("cindy", "adam"):
            response = client.get(path, headers=login(client, user))
            assert response.status_code == 403, path
            assert response.headers["content-type"].startswith("application/problem+json")


def test_events_filter_and_page(
    subject: uuid.UUID, services: Services, client: Client, officer: dict[str, str]
) -> None:
    """Filters select the subject's denied reads; next_cursor walks pages to the end."""
    for n in range(5):
        services.audit.append(
            sample_event(n, subject_id=subject, outcome=Outcome.DENY if n < 3 else Outcome.ALLOW)
        )
    response = client.get(
        "/v1/audit/events",
        params={"subject_id": str(subject), "decision": "deny", "limit": 2},
        headers=officer,
    )
    assert response.status_code == 200
    body = response.json()
    assert len(body["events"]) == 2
    assert all(e["outcome"] == "deny" for e in body["events"])
    following = client.get(
        "/v1/audit/events",
        params={"subject_id": str(subject), "decision": "deny", "cursor": body["next_cursor"]},
        headers=officer,
    ).json()
    assert len(following["events"]) == 1
    assert following["next_cursor"] is None


def test_bad_filters_are_422(client: Client, officer: dict[str, str]) -> None:
    """A malformed cursor, decision, limit or subject id is a clear 4xx, not a 500."""
    for params in (
        {"cursor": "abc"},
        {"decision": "maybe"},
        {"limit": "0"},
        {"subject_id": "not-a-uuid"},
    ):
        response = client.get("/v1/audit/events", params=params, headers=officer)
        assert 400 <= response.status_code < 500, params


def test_reading_the_log_is_itself_audited(
    services: Services, client: Client, officer: dict[str, str]
) -> None:
    """A query by a compliance officer leaves an audit.query event naming them."""
    client.get("/v1/audit/events", headers=officer)
    events = client.get(
        "/v1/audit/events", params={"action": "audit.query"}, headers=officer
    ).json()["events"]
    assert events[0]["actor_role"] == "compliance_officer"


def test_export_streams_csv_and_jsonl(
    subject: uuid.UUID, services: Services, client: Client, officer: dict[str, str]
) -> None:
    """Both export formats stream every matching event of the filter."""
    for n in range(3):
        services.audit.append(sample_event(n, subject_id=subject))
    params = {"subject_id": str(subject), "action": "record.read"}
    jsonl = client.get("/v1/audit/export", params={**params, "format": "jsonl"}, headers=officer)
    assert jsonl.status_code == 200
    assert jsonl.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in jsonl.text.splitlines()]
    assert [line["subject_id"] for line in lines] == [str(subject)] * 3
    exported = client.get("/v1/audit/export", params={**params, "format": "csv"}, headers=officer)
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 3


def test_verify_and_checkpoints_over_http(
    services: Services, client: Client, officer: dict[str, str]
) -> None:
    """verify says ok with a signed checkpoint, and first_bad_seq after a row is edited."""
    for n in range(4):
        services.audit.append(sample_event(n))
    assert services.audit.checkpoint_now() is not None
    exported = client.get("/v1/audit/checkpoints", headers=officer)
    assert exported.status_code == 200
    assert from_jsonl(exported.text.splitlines())[0].seq >= 4
    body = client.get("/v1/audit/verify", headers=officer).json()
    assert body["ok"] is True
    assert body["checkpoints"] == 1
    assert (body["first_seq"], body["from_head"]) == (1, 0)
    for n in range(3):
        services.audit.append(sample_event(n))
    services.audit.checkpoint_now()
    again = client.get("/v1/audit/verify", headers=officer).json()
    assert again["ok"] is True
    assert again["from_head"] >= 4
    assert again["first_seq"] == again["from_head"] + 1
    with services.db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET canonical = :c WHERE seq = 2"), {"c": b"{}"})
    body = client.get("/v1/audit/verify?full=true", headers=officer).json()
    assert (body["ok"], body["first_bad_seq"], body["full"]) == (False, 2, True)


def test_disclosures_over_http(
    subject: uuid.UUID, services: Services, client: Client, officer: dict[str, str]
) -> None:
    """The accounting of disclosures lists allowed reads with role, categories and purpose."""
    services.audit.append(sample_event(1, subject_id=subject))
    services.audit.append(sample_event(2, subject_id=subject, outcome=Outcome.DENY))
    response = client.get(f"/v1/subjects/{subject}/disclosures", headers=officer)
    assert response.status_code == 200
    disclosures = response.json()["disclosures"]
    assert len(disclosures) == 1
    assert disclosures[0]["purpose"] == "counseling"
    assert disclosures[0]["categories"] == ["psychological"]


def test_disclosures_come_with_proofs_a_subject_checks_offline(
    subject: uuid.UUID, services: Services, client: Client, officer: dict[str, str]
) -> None:
    """Each listed read has an inclusion proof under the signed head; an altered one fails."""
    for n in range(3):
        services.audit.append(sample_event(n, subject_id=subject))
    body = client.get(f"/v1/subjects/{subject}/disclosures", headers=officer).json()
    seqs = [d["seq"] for d in body["disclosures"]]
    assert len(seqs) == 3
    proofs = body["proofs"]
    assert [item["index"] + 1 for item in proofs["inclusions"]] == seqs
    assert proofs["head"].startswith("vault.local/audit\n")
    ok, report = verify_log(body)
    assert ok, report
    assert report.count("record.read") == 3
    ok, report = verify_log(altered(body, 1))
    assert not ok
    assert f"FAIL: event {seqs[1]}" in report


CANARY = "CANARY-7f3a\u00e9\u4e2d<script>\"';,\n"


def test_canary_text_comes_back_as_given(
    subject: uuid.UUID, services: Services, client: Client, officer: dict[str, str]
) -> None:
    """Free text the vault writes (reason, details) comes back unchanged from API and export."""
    services.audit.append(
        AuditEvent(
            action="breakglass.open",
            outcome=Outcome.ALLOW,
            subject_id=subject,
            reason=CANARY,
            details={"note": CANARY, "count": 3, "flag": True, "none": None},
        )
    )
    params = {"subject_id": str(subject), "action": "breakglass.open"}
    event = client.get("/v1/audit/events", params=params, headers=officer).json()["events"][0]
    assert event["reason"] == CANARY
    assert event["details"] == {"note": CANARY, "count": 3, "flag": True, "none": None}
    jsonl = client.get("/v1/audit/export", params={**params, "format": "jsonl"}, headers=officer)
    assert json.loads(jsonl.text.splitlines()[0])["reason"] == CANARY
    exported = client.get("/v1/audit/export", params={**params, "format": "csv"}, headers=officer)
    row = next(csv.DictReader(io.StringIO(exported.text)))
    assert row["reason"] == CANARY
    assert json.loads(row["details"])["note"] == CANARY
