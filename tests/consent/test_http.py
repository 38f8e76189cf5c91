"""The consent endpoints, driven over HTTP with real users, tokens, hasher, signer and audit log."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.consent import Consent as FhirConsent
from litestar.testing import TestClient
from sqlmodel import col, select

from tests.consent.conftest import Clock, FakeFacts, add_sentras, add_subject
from tests.support import create_user, kiosk_header, login
from vault.app import create_app
from vault.audit.models import AuditRow
from vault.cli import main as cli_main
from vault.config import Settings
from vault.consent.service import GuardianIdentity
from vault.services import Services, build_services
from vault.vocabulary import Principal, Role

ORG = "rutan-jakpus"
PIN = "2468"


@pytest.fixture
def services(settings: Settings, clock: Clock, facts: FakeFacts) -> Iterator[Services]:
    built = build_services(settings, clock=clock, migrate=True)
    add_sentras(built.db)
    # Dates of birth come from the records capability; a fake stands in for it here.
    built.consents.facts = facts
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def client(settings: Settings, services: Services) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(settings, services)) as test_client:
        yield test_client


@pytest.fixture
def subject(services: Services, facts: FakeFacts) -> uuid.UUID:
    subject_id = add_subject(services.db, ORG, pin_hash=services.hasher.hash(PIN))
    facts.births[subject_id] = date(1992, 8, 17)
    return subject_id


def staff(services: Services, client: TestClient[Any], role: str, org: str = ORG) -> dict[str, str]:
    name = f"{role}-{org}-{uuid.uuid4().hex[:6]}"
    create_user(services, name, role, org)
    return login(client, name)


def at_kiosk(
    client: TestClient[Any], services: Services, headers: dict[str, str], subject: uuid.UUID
) -> dict[str, str]:
    """The caller's headers plus a kiosk session they opened for the subject."""
    me = client.get("/v1/me", headers=headers).json()["id"]
    return {**headers, **kiosk_header(services, me, subject)}


def sign_body(granted: list[str], pin: str = PIN, **extra: Any) -> dict[str, Any]:
    return {
        "form_id": "rehabilitation",
        "form_version": 1,
        "language": "id",
        "granted_purposes": granted,
        "signature": {"method": "pin", "pin": pin},
        **extra,
    }


def test_sign_list_withdraw_over_http(
    client: TestClient[Any], services: Services, subject: uuid.UUID
) -> None:
    """An officer witnesses a signature; after withdrawal the very next read finds no grant."""
    officer = staff(services, client, "officer")
    response = client.post(
        f"/v1/subjects/{subject}/consents",
        json=sign_body(["counseling", "health_treatment"]),
        headers=at_kiosk(client, services, officer, subject),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "active"
    cid = body["id"]
    assert {g.purpose for g in services.consents.active_consents(subject, services.clock())} == {
        "counseling",
        "health_treatment",
    }
    listed = client.get(f"/v1/subjects/{subject}/consents", headers=officer).json()
    assert [c["id"] for c in listed] == [cid]
    assert {p["code"]: p["granted"] for p in listed[0]["purposes"]}["statistics"] is False
    withdrawn = client.post(
        f"/v1/consents/{cid}/withdraw", json={"reason": "subject_request"}, headers=officer
    )
    assert withdrawn.json() == {"id": cid, "status": "withdrawn"}
    assert services.consents.active_consents(subject, services.clock()) == []
    again = client.post(f"/v1/consents/{cid}/withdraw", headers=officer)
    assert again.status_code == 409


def test_wrong_pins_get_429_with_retry_after(
    client: TestClient[Any], services: Services, subject: uuid.UUID
) -> None:
    """Wrong PINs are refused (403), then signing for that subject is limited (429, Retry-After)."""
    officer = at_kiosk(client, services, staff(services, client, "officer"), subject)
    url = f"/v1/subjects/{subject}/consents"
    for _ in range(services.settings.pin_max_failures):
        assert client.post(url, json=sign_body([], pin="1111"), headers=officer).status_code == 403
    limited = client.post(url, json=sign_body(["counseling"]), headers=officer)
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert limited.headers["content-type"].startswith("application/problem+json")
    assert "1111" not in limited.text


def test_witness_must_be_officer_or_counselor_of_the_subjects_org(
    client: TestClient[Any], services: Services, subject: uuid.UUID
) -> None:
    """A health officer is refused (403); an officer of another prison is told nothing (404)."""
    url = f"/v1/subjects/{subject}/consents"
    health = at_kiosk(client, services, staff(services, client, "health_officer"), subject)
    assert client.post(url, json=sign_body([]), headers=health).status_code == 403
    stranger = staff(services, client, "officer", "lapas-cipinang")
    assert client.post(url, json=sign_body([]), headers=stranger).status_code == 404
    assert client.get(url, headers=stranger).status_code == 404
    assert client.post(url, json=sign_body([])).status_code == 401


def test_receipt_fhir_and_offline_verification(
    client: TestClient[Any],
    services: Services,
    subject: uuid.UUID,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The receipt verifies offline with the public key alone; one changed byte makes it exit 1."""
    counselor = staff(services, client, "counselor")
    cid = client.post(
        f"/v1/subjects/{subject}/consents",
        json=sign_body(
            ["counseling", "handover_kemensos"],
            recipients={"handover_kemensos": ["sentra-handayani"]},
        ),
        headers=at_kiosk(client, services, counselor, subject),
    ).json()["id"]
    receipt = client.get(f"/v1/consents/{cid}/receipt", headers=counselor)
    assert receipt.status_code == 200
    jwk = client.get("/v1/keys/signing").json()  # open to anyone
    key_file = tmp_path / "key.jwk"
    key_file.write_text(json.dumps(jwk))
    good = tmp_path / "receipt.json"
    good.write_text(receipt.text)
    assert run_verify(good, key_file).returncode == 0
    token = receipt.json()["receipt"]
    header, body, signature = token.split(".")
    flipped_body = body[:20] + ("A" if body[20] != "A" else "B") + body[21:]
    flipped_sig = signature[:5] + ("A" if signature[5] != "A" else "B") + signature[6:]
    for bad_token in (f"{header}.{flipped_body}.{signature}", f"{header}.{body}.{flipped_sig}"):
        bad = tmp_path / "bad.jws"
        bad.write_text(bad_token)
        # In process (the subprocess above proved the command line itself works offline).
        assert cli_main(["consent", "verify", str(bad), "--key", str(key_file)]) == 1
        assert "INVALID" in capsys.readouterr().out
    fhir = client.get(f"/v1/consents/{cid}/fhir", headers=counselor)
    assert fhir.status_code == 200
    resource = fhir.json()
    FhirConsent.model_validate(resource)
    assert (resource["status"], resource["decision"]) == ("active", "deny")
    actors = {
        a["reference"]["identifier"]["value"] for p in resource["provision"] for a in p["actor"]
    }
    assert actors == {ORG, "sentra-handayani"}
    with services.db.read_session() as session:
        rows = session.exec(select(AuditRow).where(col(AuditRow.subject_id) == subject)).all()
        actions = [row.action for row in rows]
        documents = [json.loads(row.canonical) for row in rows]
    assert {"consent.sign", "consent.refuse", "consent.receipt"} <= set(actions)
    assert [value for value in _texts(documents) if PIN in value and _may_hold_a_pin(value)] == []


def _texts(node: Any) -> Iterator[str]:
    """Every key, string and number of decoded event documents, as text."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from _texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from _texts(item)
    elif node is not None:
        yield str(node)


def _may_hold_a_pin(text: str) -> bool:
    """Ids and digests (hex, UUIDs, base64) hold any four digits by chance; anything else
    holding the PIN would be a leak."""
    return re.fullmatch(r"[0-9a-fA-F-]{16,}|[A-Za-z0-9_+/=-]{20,}", text) is None


def run_verify(receipt: Path, key: Path) -> subprocess.CompletedProcess[str]:
    """The real command line, as a user runs it: no database, only the files."""
    return subprocess.run(
        [sys.executable, "-m", "vault.cli", "consent", "verify", str(receipt), "--key", str(key)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "VAULT_DATABASE_URL": "sqlite:////nonexistent/x.db"},
    )


def test_forms_endpoints(client: TestClient[Any], services: Services) -> None:
    """Forms are listed with their purposes, and shown in either language with the text's hash."""
    officer = staff(services, client, "officer")
    forms = client.get("/v1/consent-forms", headers=officer).json()
    [form] = [f for f in forms if f["id"] == "rehabilitation"]
    codes = {p["code"] for p in form["purposes"]}
    assert {"counseling", "health_treatment", "handover_kemensos", "statistics"} <= codes
    for lang in ("id", "en"):
        shown = client.get(f"/v1/consent-forms/rehabilitation?lang={lang}", headers=officer)
        assert shown.status_code == 200
        text = shown.json()["text"]
        assert shown.json()["text_sha256"] == hashlib.sha256(text.encode()).hexdigest()
        assert services.settings.controller_name in text
    assert client.get("/v1/consent-forms/rehabilitation?lang=fr", headers=officer).status_code in (
        400,
        422,
    )
    assert client.get("/v1/consent-forms/nope", headers=officer).status_code == 404
    assert client.get("/v1/consent-forms").status_code == 401


def test_minor_over_http(client: TestClient[Any], services: Services, facts: FakeFacts) -> None:
    """Over HTTP too, a minor's consent needs a guardian, who signs with their own PIN;
    a name and relation in place of the guardian's PIN are refused."""
    child = add_subject(services.db, ORG, pin_hash=services.hasher.hash(PIN))
    with services.db.session() as session:
        services.subject_keys.create(session, child)
    facts.births[child] = date(2009, 4, 4)
    officer = staff(services, client, "officer")
    url = f"/v1/subjects/{child}/consents"
    kiosk = at_kiosk(client, services, officer, child)
    alone = client.post(url, json=sign_body(["counseling"]), headers=kiosk)
    assert alone.status_code == 403
    assert "guardian" in alone.json()["detail"]
    by_name = {"name": "Siti", "relation": "ibu", "assent": True}
    named = client.post(url, json=sign_body(["counseling"], guardian=by_name), headers=kiosk)
    assert named.status_code == 400
    opener = create_user(services, f"o-{uuid.uuid4().hex[:6]}", "officer", ORG)
    checker = create_user(services, f"c-{uuid.uuid4().hex[:6]}", "counselor", ORG)
    guardian_id = services.consents.enrol_guardian(
        Principal(opener, Role.OFFICER, ORG),
        child,
        GuardianIdentity("Siti Aminah", "ibu", "ktp", "3171015508800002"),
        checked_by=Principal(checker, Role.COUNSELOR, ORG),
        pin="975310",
        again="975310",
        kiosk_session=None,
    )
    guardian = {"pin": "975310", "assent": True}
    signed = client.post(url, json=sign_body(["counseling"], guardian=guardian), headers=kiosk)
    assert signed.status_code == 201, signed.text
    [listed] = client.get(url, headers=officer).json()
    assert (listed["signed_by"], listed["guardian_id"], listed["assent"]) == (
        "guardian",
        str(guardian_id),
        True,
    )
    assert "Siti" not in json.dumps(listed)
