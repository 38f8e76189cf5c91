"""Abuse of the HTTP API: oversized and deeply nested bodies, invalid UTF-8 and Unicode,
SQL meta-characters in every string parameter, path traversal in names, enumeration of
subject ids, token replay after logout, and login brute force. Each answer is a 4xx
problem+json (never a 5xx), and the vault is intact afterwards."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_settings
from tests.support import DEFAULT_PASSWORD, create_user, login
from tests.world import ORG, World, build_world

SQL_META = [
    "' OR '1'='1",
    "'; DROP TABLE subjects; --",
    '" OR ""="',
    "1; SELECT pg_sleep(5)--",
    "%' UNION SELECT wrapped_dek FROM subject_keys --",
    "\\'; DELETE FROM audit_events; --",
]
TRAVERSAL = [
    "../../../../etc/passwd",
    "..%2F..%2F..%2Fpyproject.toml",
    "....//....//etc/passwd",
    "%2e%2e%2f%2e%2e%2fkeys",
    "..\\..\\keys\\keyring.json",
]


@pytest.fixture
def world(shared_world: World) -> World:
    return shared_world


def assert_problem_4xx(response: Any, *allowed: int) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    if allowed:
        assert response.status_code in allowed, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/problem+json")


def records_path(world: World) -> str:
    return f"/v1/subjects/{world.subject_id}/records"


def test_oversized_body_is_413(world: World) -> None:
    """A body over the configured limit is refused with 413 before it is parsed."""
    limit = world.services.settings.max_body_bytes
    body = {"type": "progress_note", "fields": {"note": "x" * (limit + 10)}}
    response = world.client.post(records_path(world), json=body, headers=world.auth("counselor"))
    assert_problem_4xx(response, 413)


@pytest.mark.parametrize("depth", [64, 1_000, 100_000])
def test_deeply_nested_json_is_refused(world: World, depth: int) -> None:
    """Nesting a value thousands deep gets a 4xx, not a stack overflow or a 500."""
    nested = "[" * depth + "]" * depth
    raw = '{"type": "progress_note", "fields": {"note": ' + nested + "}}"
    response = world.client.post(
        records_path(world),
        content=raw.encode(),
        headers={**world.auth("counselor"), "Content-Type": "application/json"},
    )
    assert_problem_4xx(response)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"type": "progress_note", "fields": {"note": "\xff\xfe broken"}}',
        b'{"type": "progress_note", "fields": {"note": "\xc0\xaf overlong"}}',
        b'{"type": "progress_note", "fields": {"note": "\\ud800 lone surrogate"}}',
        b'{"type": "progress_note", "fields": {"note": "\\udc00\\ud800 reversed"}}',
        b'{"type": "progress_\\u0000note", "fields": {"note": "nul"}}',
        b'{"type": "progress_note", "fields": {"no\\u0000te": "nul in a name"}}',
    ],
)
def test_invalid_utf8_and_unicode_are_refused(world: World, raw: bytes) -> None:
    """Bytes that are not UTF-8, lone surrogates and NULs in names get a 4xx, not a 500."""
    response = world.client.post(
        records_path(world),
        content=raw,
        headers={**world.auth("counselor"), "Content-Type": "application/json"},
    )
    assert_problem_4xx(response)


def test_unicode_plaintext_round_trips(world: World) -> None:
    """Valid but unusual Unicode (combining marks, emoji, RTL, NUL-free) is stored exactly."""
    note = "Ibu\u0301 \U0001f600 \u202eterbalik\u202c \u4e2d\u6587 \u00a0end"
    body = {"type": "progress_note", "fields": {"note": note}}
    created = world.client.post(records_path(world), json=body, headers=world.auth("counselor"))
    assert created.status_code == 201, created.text
    read = world.read("counselor", created.json()["id"], "counseling")
    assert read.json()["fields"] == {"note": note}


def test_token_replay_after_logout_is_refused(world: World) -> None:
    """A bearer token stops working the moment it is logged out, on every route."""
    create_user(world.services, "replayer", "counselor", ORG)
    headers = login(world.client, "replayer")  # before any failed login from this address
    assert world.client.get("/v1/me", headers=headers).status_code == 200
    assert world.client.post("/v1/auth/logout", headers=headers).status_code == 204
    for path in ("/v1/me", "/v1/consent-forms", records_path(world)):
        response = world.client.get(path, headers=headers, params={"purpose": "counseling"})
        assert_problem_4xx(response, 401)
    assert_problem_4xx(world.client.post("/v1/auth/logout", headers=headers), 401)


def string_query_parameters(world: World) -> list[tuple[str, str, str]]:
    """(path, parameter, role) for every string query parameter of every GET operation."""
    document = world.client.get("/schema/openapi.json").json()
    found = []
    for path, item in document["paths"].items():
        operation = item.get("get")
        if not operation:
            continue
        for parameter in operation.get("parameters", []):
            schema = parameter.get("schema", {})
            kinds = [schema.get("type")] + [s.get("type") for s in schema.get("oneOf", [])]
            if parameter["in"] == "query" and "string" in kinds:
                role = "compliance" if path.startswith("/v1/audit") else "counselor"
                found.append((path, parameter["name"], role))
    return found


def test_sql_meta_characters_in_every_string_parameter(world: World) -> None:
    """Every string query parameter and the main body strings take SQL meta-characters
    as data: a 4xx or an empty answer, never a 5xx, and every table is still there."""
    rid = world.create_record("counselor", "progress_note", {"note": "before the injection"})
    parameters = string_query_parameters(world)
    assert len(parameters) >= 5, parameters
    real = {"subject_id": world.subject_id, "record_id": rid, "consent_id": world.consent_id}
    for path, name, role in parameters:
        url = path
        for key, value in real.items():
            url = url.replace("{" + key + "}", value)
        if "{" in url:
            continue
        for payload in SQL_META:
            response = world.client.get(url, params={name: payload}, headers=world.auth(role))
            assert response.status_code < 500, (url, name, payload, response.text[:300])
    for payload in SQL_META:
        bad_login = {"username": payload, "password": payload}
        refused = world.client.post("/v1/auth/login", json=bad_login)
        assert refused.status_code in (401, 422, 429), refused.text
        note = {"type": "progress_note", "fields": {"note": payload}}
        created = world.client.post(records_path(world), json=note, headers=world.auth("counselor"))
        assert created.status_code == 201, created.text
        assert world.read("counselor", created.json()["id"], "counseling").json()["fields"] == {
            "note": payload
        }
        subject = {
            "full_name": payload,
            "nik": payload[:32],
            "register_number": payload,
            "date_of_birth": "1990-01-01",
            "organization": ORG,
        }
        answer = world.client.post("/v1/subjects", json=subject, headers=world.auth("officer"))
        assert answer.status_code in (201, 409, 422), answer.text
    assert world.read("counselor", rid, "counseling").json()["fields"] == {
        "note": "before the injection"
    }
    verify = world.client.get("/v1/audit/verify", headers=world.auth("compliance")).json()
    assert verify["ok"] is True


@pytest.mark.parametrize("name", TRAVERSAL)
def test_path_traversal_in_names_reads_no_file(world: World, name: str) -> None:
    """Form ids, languages and static paths that climb directories read no file."""
    probes = [
        world.client.get(f"/v1/consent-forms/{name}", headers=world.auth("officer")),
        world.client.get(
            "/v1/consent-forms/rehabilitation", params={"lang": name}, headers=world.auth("officer")
        ),
        world.client.get(f"/static/{name}"),
        world.client.get(f"/kiosk/static/{name}"),
    ]
    for response in probes:
        assert response.status_code in (400, 401, 404, 422), (response.url, response.status_code)
        assert "root:" not in response.text
        assert "[project]" not in response.text
        assert "kek" not in response.text.lower()


def problem_without_request_id(response: Any) -> tuple[int, dict[str, Any]]:
    body = json.loads(response.text)
    body.pop("request_id", None)
    return response.status_code, body


def same_answers(world: World, who: dict[str, str], method: str, path: str, **kw: Any) -> Any:
    """The answers for the world's subject and for a missing one, request ids removed."""
    return [
        problem_without_request_id(
            world.client.request(method, path.format(sid=sid), headers=who, **kw)
        )
        for sid in (world.subject_id, world.missing_id)
    ]


def test_other_organisations_cannot_tell_a_subject_exists(world: World) -> None:
    """On every per-subject route, staff of another organisation get exactly the answer a
    missing subject gets (status and body, but the request id)."""
    create_user(world.services, "outsider", "counselor", "sentra-handayani")
    # Issued in process: this address has the other tests' failed logins against it.
    token = world.services.identity.login("outsider", DEFAULT_PASSWORD)
    outsider = {"Authorization": f"Bearer {token.access_token}"}
    rid = world.create_record("counselor", "progress_note", {"note": "enumeration"})
    routes = [
        ("GET", "/v1/subjects/{sid}", {}),
        ("GET", "/v1/subjects/{sid}/records", {"purpose": "counseling"}),
        ("GET", "/v1/subjects/{sid}/records/" + rid, {"purpose": "counseling"}),
        ("GET", "/v1/subjects/{sid}/consents", {}),
        ("GET", "/v1/subjects/{sid}/disclosures", {}),
    ]
    for method, template, params in routes:
        answers = same_answers(world, outsider, method, template, params=params)
        assert answers[0] == answers[1], (template, answers)
        assert answers[0][0] in (403, 404)
    body = {"type": "progress_note", "fields": {"note": "probe"}}
    answers = same_answers(world, outsider, "POST", "/v1/subjects/{sid}/records", json=body)
    assert answers[0] == answers[1], answers
    body = {"justification": "I need to see this person's file right now, it is urgent."}
    answers = same_answers(world, outsider, "POST", "/v1/subjects/{sid}/break-glass", json=body)
    assert answers[0] == answers[1], answers


def test_unassigned_counselor_cannot_tell_a_record_exists(world: World) -> None:
    """An unassigned counselor of the same organisation reading a record by id gets the
    answer a missing subject gets."""
    rid = world.create_record("counselor", "progress_note", {"note": "enumeration"})
    path = "/v1/subjects/{sid}/records/" + rid
    answers = same_answers(
        world, world.auth("counselor2"), "GET", path, params={"purpose": "counseling"}
    )
    assert answers[0] == answers[1], answers
    assert answers[0][0] == 404


@pytest.fixture
def fresh_world(tmp_path: Path) -> Iterator[World]:
    """A world of its own: the login limits count per address, and the shared one's
    address has failed logins of the other tests on it."""
    yield from build_world(make_settings(f"sqlite:///{tmp_path / 'vault.db'}", tmp_path))


def test_login_brute_force_is_limited(fresh_world: World) -> None:
    """Repeated wrong passwords get 429 with Retry-After; then even the right one waits."""
    create_user(fresh_world.services, "target", "counselor", ORG)
    limit = fresh_world.services.settings.login_max_failures
    codes = [
        fresh_world.client.post(
            "/v1/auth/login", json={"username": "target", "password": f"guess-{n}"}
        ).status_code
        for n in range(limit + 3)
    ]
    assert codes[:limit] == [401] * limit
    assert set(codes[limit:]) == {429}
    right = fresh_world.client.post(
        "/v1/auth/login", json={"username": "target", "password": DEFAULT_PASSWORD}
    )
    assert_problem_4xx(right, 429)
    assert int(right.headers["retry-after"]) > 0
