"""Canaries: plaintexts, passwords, PINs, identifiers and tokens go through a real server
logging at DEBUG, and are then looked for everywhere they must not be: the server's
output, every response body but the one authorised read, the audit table, the OpenAPI
document, and the bytes of the SQLite database and its WAL outside ciphertext."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import make_settings
from tests.hardening.processes import prepared_world, start_server
from tests.support import DEFAULT_PASSWORD, choose_pin_at_kiosk, kiosk_header
from tests.world import ORG

SUMMARY = "CANARY-LEAK-SUMMARY-9d2f"
NEW_PASSWORD = "CANARY-LEAK-PASSWORD-51ab"
NEWBIE_OWN_PASSWORD = "CANARY-LEAK-OWN-PASSWORD-7c2d"
WRONG_PASSWORD = "CANARY-LEAK-WRONGPW-77c0"
PIN = "730519"
NIK = "3171067788990011"
NAME = "CANARY-LEAK-NAME Wayan"


@pytest.fixture(scope="module")
def leak_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Everything observable after a session of real traffic against a DEBUG server."""
    tmp: Path = tmp_path_factory.mktemp("leaks")
    db_path = tmp / "vault.db"
    settings = make_settings(f"sqlite:///{db_path}", tmp)
    worlds = prepared_world(settings)
    try:
        world = next(worlds)
    finally:
        worlds.close()
    log = tmp / "serve.log"
    server = start_server(settings, log, VAULT_LOG_LEVEL="DEBUG")
    bodies: list[str] = []
    allowed_reads: list[str] = []
    tokens: list[str] = []
    try:
        with server.client() as client:

            def call(method: str, path: str, who: dict[str, str] | None = None, **kw: Any) -> Any:
                response = client.request(method, path, headers=who or {}, **kw)
                bodies.append(response.text)
                return response

            def login(username: str, password: str) -> dict[str, str]:
                response = call(
                    "POST", "/v1/auth/login", json={"username": username, "password": password}
                )
                assert response.status_code == 200, response.text
                tokens.append(response.json()["access_token"])
                return {"Authorization": f"Bearer {tokens[-1]}"}

            admin = login("admin", DEFAULT_PASSWORD)
            officer = login("officer", DEFAULT_PASSWORD)
            counselor = login("counselor", DEFAULT_PASSWORD)
            created = call(
                "POST",
                "/v1/users",
                admin,
                json={
                    "username": "newbie",
                    "password": NEW_PASSWORD,
                    "role": "counselor",
                    "organization": ORG,
                },
            )
            assert created.status_code == 201, created.text
            compliance = login("compliance", DEFAULT_PASSWORD)
            approved = call("POST", f"/v1/users/{created.json()['id']}/approve", compliance)
            assert approved.status_code == 200, approved.text
            activation = {
                "username": "newbie",
                "password": NEW_PASSWORD,
                "activation_code": approved.json()["activation_code"],
                "new_password": NEWBIE_OWN_PASSWORD,
            }
            assert call("POST", "/v1/auth/activate", json=activation).status_code == 200
            newbie = login("newbie", NEWBIE_OWN_PASSWORD)
            assert (
                call(
                    "POST",
                    "/v1/auth/login",
                    json={"username": "newbie", "password": WRONG_PASSWORD},
                ).status_code
                == 401
            )
            subject = {
                "full_name": NAME,
                "nik": NIK,
                "register_number": "AI 999/2025",
                "date_of_birth": "1993-05-05",
                "organization": ORG,
            }
            # Refused inputs carrying the canaries: the errors must not echo them.
            call("POST", "/v1/subjects", officer, json={**subject, "date_of_birth": NAME})
            call("POST", "/v1/subjects", officer, json={**subject, "pin": NAME})
            call("GET", "/v1/subjects", officer, params={"nik": NIK + "x" * 40})
            subject_id = call("POST", "/v1/subjects", officer, json=subject).json()["id"]
            choose_pin_at_kiosk(client, subject_id, PIN, "counselor", DEFAULT_PASSWORD)
            call(
                "POST",
                "/v1/assignments",
                admin,
                json={"user_id": world.user_ids["counselor"], "subject_id": subject_id},
            )
            # Signing happens inside the kiosk session the officer opened for the subject.
            at_kiosk = {
                **officer,
                **kiosk_header(world.services, world.user_ids["officer"], subject_id),
            }
            consent = call(
                "POST",
                f"/v1/subjects/{subject_id}/consents",
                at_kiosk,
                json={
                    "form_id": "rehabilitation",
                    "form_version": 1,
                    "language": "id",
                    "granted_purposes": ["counseling"],
                    "signature": {"method": "pin", "pin": PIN},
                },
            )
            assert consent.status_code == 201, consent.text
            call(
                "POST",
                f"/v1/subjects/{subject_id}/consents",
                at_kiosk,
                json={
                    "form_id": "rehabilitation",
                    "form_version": 1,
                    "language": "id",
                    "granted_purposes": ["counseling"],
                    "signature": {"method": "pin", "pin": "000000"},
                },
            )
            fields = {
                "instrument": "SRQ-20",
                "summary": SUMMARY,
                "risk_level": "low",
                "recommendations": "r",
            }
            record = call(
                "POST",
                f"/v1/subjects/{subject_id}/records",
                counselor,
                json={"type": "psychological_assessment", "fields": fields},
            )
            assert record.status_code == 201, record.text
            call(
                "POST",
                f"/v1/subjects/{subject_id}/records",
                counselor,
                json={"type": "psychological_assessment", "fields": {**fields, "bogus": SUMMARY}},
            )
            path = f"/v1/subjects/{subject_id}/records/{record.json()['id']}"
            read = client.get(path, params={"purpose": "counseling"}, headers=counselor)
            assert read.json()["fields"]["summary"] == SUMMARY
            allowed_reads.append(read.text)
            for who in (admin, officer, newbie):
                call("GET", path, who, params={"purpose": "counseling"})
            call(
                "GET",
                f"/v1/subjects/{subject_id}/records",
                counselor,
                params={"purpose": "counseling"},
            )
            call("GET", "/v1/subjects", officer, params={"nik": NIK})
            call("POST", "/v1/auth/logout", newbie)
            call("GET", "/v1/me", newbie)
            compliance = login("compliance", DEFAULT_PASSWORD)
            call("GET", "/v1/audit/events", compliance, params={"limit": 1000})
            call("GET", "/v1/audit/export", compliance, params={"format": "csv"})
            call("GET", f"/v1/subjects/{subject_id}/disclosures", compliance)
            openapi = call("GET", "/schema/openapi.json").text
            openapi += call("GET", "/schema/openapi.yaml").text
    finally:
        server.kill()
    engine = create_engine(settings.database_url)
    with engine.connect() as conn:
        audit = b"".join(
            bytes(row[0]) for row in conn.execute(text("SELECT canonical FROM audit_events"))
        )
        ciphertexts = [
            bytes(r[0]) for r in conn.execute(text("SELECT ciphertext FROM record_fields"))
        ]
    engine.dispose()
    wal = db_path.with_name(db_path.name + "-wal")
    raw = db_path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    for blob in ciphertexts:  # what remains is the database outside ciphertext
        raw = raw.replace(blob, b"")
    return {
        "log": log.read_text(errors="replace"),
        "bodies": bodies,
        "audit": audit.decode(errors="replace"),
        "openapi": openapi,
        "db": raw,
        "tokens": tokens,
        "allowed_reads": allowed_reads,
    }


def secrets_of(run: dict[str, Any]) -> list[str]:
    return [
        SUMMARY,
        NEW_PASSWORD,
        NEWBIE_OWN_PASSWORD,
        WRONG_PASSWORD,
        DEFAULT_PASSWORD,
        NIK,
        NAME,
        *run["tokens"],
    ]


@pytest.mark.parametrize("where", ["log", "audit", "openapi"])
def test_no_secret_in_logs_audit_or_schema(leak_run: dict[str, Any], where: str) -> None:
    """The DEBUG log, the audit table and the OpenAPI document hold none of the canaries."""
    text_ = leak_run[where]
    assert text_, f"{where} was captured"
    for secret in secrets_of(leak_run):
        assert secret not in text_, f"{secret[:12]}... found in the {where}"
    assert f'"{PIN}"' not in text_
    assert f"pin={PIN}" not in text_


def test_the_server_did_log_at_debug(leak_run: dict[str, Any]) -> None:
    """The log searched above is a DEBUG log, not an empty or INFO-only one."""
    assert "DEBUG" in leak_run["log"]


def test_no_secret_in_any_response_but_the_authorised_read(leak_run: dict[str, Any]) -> None:
    """Error bodies and every other answer echo no canary (the login's own token aside)."""
    for body in leak_run["bodies"]:
        secrets = [SUMMARY, NEW_PASSWORD, NEWBIE_OWN_PASSWORD, WRONG_PASSWORD, DEFAULT_PASSWORD]
        for secret in [*secrets, NIK, NAME, PIN]:
            assert secret not in body, f"{secret[:12]}... in a response: {body[:200]}"
    assert SUMMARY in leak_run["allowed_reads"][0], "the canary was really there to find"


def test_no_secret_in_the_database_file_outside_ciphertext(leak_run: dict[str, Any]) -> None:
    """The SQLite file and WAL, ciphertexts cut out, hold no plaintext, password or token."""
    raw: bytes = leak_run["db"]
    for secret in [*secrets_of(leak_run), PIN]:
        assert secret.encode() not in raw, f"{secret[:12]}... in the database file"
