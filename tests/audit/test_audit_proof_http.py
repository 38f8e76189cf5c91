"""The proof routes: compliance officers of the event's organisation only; proofs that verify."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient
from sqlalchemy import text

from tests.audit.conftest import sample_event
from tests.support import create_user, login
from vault.app import create_app
from vault.audit.proofs import ProofSource
from vault.config import Settings
from vault.services import Services, build_services

Client = TestClient  # type: ignore[type-arg]  # (the app's state type is not needed here)
TOOL = Path(__file__).resolve().parents[2] / "tools" / "verify_log.py"


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


def verifies(bundle: object) -> bool:
    done = subprocess.run(
        [sys.executable, str(TOOL)], input=json.dumps(bundle), text=True, capture_output=True
    )
    return done.returncode == 0


def test_an_officer_gets_a_proof_of_an_own_event_and_not_of_another_organisations(
    services: Services, client: Client
) -> None:
    """Own organisation's event: a proof that verifies; another's: 404 like a missing one."""
    create_user(services, "cora", "compliance_officer", "rutan-jakpus")
    create_user(services, "otto", "compliance_officer", "lapas-cipinang")
    own = services.audit.append(sample_event(1, actor_org="rutan-jakpus"))
    other = services.audit.append(sample_event(2, actor_org="lapas-cipinang"))
    services.audit.checkpoint_now()
    headers = login(client, "cora")
    response = client.get(f"/v1/audit/events/{own}/proof", headers=headers)
    assert response.status_code == 200, response.text
    assert verifies(response.json())
    foreign = client.get(f"/v1/audit/events/{other}/proof", headers=headers)
    missing = client.get("/v1/audit/events/999999/proof", headers=headers)
    assert foreign.status_code == missing.status_code == 404
    foreign_body, missing_body = foreign.json(), missing.json()
    foreign_body.pop("request_id", None)
    missing_body.pop("request_id", None)
    assert foreign_body == missing_body


def test_a_counselor_gets_no_proof(services: Services, client: Client) -> None:
    """A counselor of the same organisation is refused the proof routes."""
    create_user(services, "cindy", "counselor", "rutan-jakpus")
    seq = services.audit.append(sample_event(1, actor_org="rutan-jakpus"))
    services.audit.checkpoint_now()
    headers = login(client, "cindy")
    assert client.get(f"/v1/audit/events/{seq}/proof", headers=headers).status_code == 403
    assert client.get("/v1/audit/consistency?from=1", headers=headers).status_code == 403


def test_the_consistency_route_proves_growth(services: Services, client: Client) -> None:
    """Between two signed heads the route's proof verifies offline; a bad size is a 4xx."""
    create_user(services, "cora", "compliance_officer", "rutan-jakpus")
    for n in range(3):
        services.audit.append(sample_event(n))
    services.audit.checkpoint_now()
    keeper = services.audit.heads()
    assert keeper is not None
    old_size = ProofSource(services.audit.engine, keeper).latest().size
    for n in range(4):
        services.audit.append(sample_event(n))
    services.audit.checkpoint_now()
    headers = login(client, "cora")
    response = client.get(f"/v1/audit/consistency?from={old_size}", headers=headers)
    assert response.status_code == 200, response.text
    assert verifies(response.json())
    assert client.get("/v1/audit/consistency?from=0", headers=headers).status_code == 400
    assert client.get("/v1/audit/consistency?from=999999", headers=headers).status_code == 404


def test_a_cosignature_is_stored_only_on_the_head_it_signs(
    settings: Settings, tmp_path: Path
) -> None:
    """A configured witness's line posted to another head is refused; to its own, kept once."""
    from vault.audit.heads import NoteSigner
    from vault.crypto.signing import Signer
    from vault.transparency import VerifierKey, Witness

    witness_signer = NoteSigner(Signer(bytes(range(32))))
    witness_vkey = Witness("bapas.example/w", witness_signer, {}).key
    configured = settings.model_copy(update={"audit_witness_keys": [str(witness_vkey)]})
    built = build_services(configured, migrate=True)
    try:
        for n in range(3):
            built.audit.append(sample_event(n))
        built.audit.checkpoint_now()
        keeper = built.audit.heads()
        assert keeper is not None
        log_key = VerifierKey.parse(str(keeper.current_vkey()))
        witness = Witness("bapas.example/w", witness_signer, {log_key.name: [log_key]})
        with TestClient(create_app(configured, built)) as client:
            first = client.get("/v1/audit/heads/latest").json()
            line = witness.add_checkpoint(first["head"], 0, [], now=int(time.time())).strip()
            for n in range(2):
                built.audit.append(sample_event(n))
            built.audit.checkpoint_now()
            second = client.get("/v1/audit/heads/latest").json()
            assert second["size"] > first["size"]
            wrong = f"/v1/audit/heads/{second['size']}/cosignatures"
            right = f"/v1/audit/heads/{first['size']}/cosignatures"
            assert client.post(wrong, json={"cosignature": line}).status_code == 422
            for _ in range(2):
                kept = client.post(right, json={"cosignature": line})
                assert kept.status_code == 201, kept.text
                assert kept.json()["cosignatures"] == 1
            missing = client.post("/v1/audit/heads/999999/cosignatures", json={"cosignature": line})
            assert missing.status_code == 404
        with built.db.engine.connect() as conn:
            notes = dict(conn.execute(text("SELECT size, note FROM audit_heads")).all())
            cosigned = conn.execute(
                text("SELECT count(*) FROM audit_events WHERE action = 'audit.head_cosigned'")
            ).scalar_one()
        assert notes[first["size"]].count("bapas.example/w") == 1
        assert "bapas.example/w" not in notes[second["size"]]
        assert cosigned == 1
    finally:
        built.close()
