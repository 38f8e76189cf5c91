"""Handover over HTTP: the published key, export at the prison, import at the sentra."""

from __future__ import annotations

from litestar.testing import TestClient

from tests.handover.handover_support import SENTRA, Pair
from tests.support import login
from vault.app import create_app


def test_export_and_import_over_http_and_a_replay_answers_422_with_its_reason(
    pair: Pair,
) -> None:
    """The sentra publishes its key openly; the prison's officer exports (201), the sentra's
    officer imports (201), and the same bundle again is a 422 problem naming the replay."""
    pair.consent_to_handover()
    world = pair.world
    with TestClient(create_app(pair.sentra.settings, pair.sentra)) as sentra_client:
        key = sentra_client.get("/v1/keys/handover")
        assert key.status_code == 200
        assert key.json()["crv"] == "X25519"
        exported = world.client.post(
            f"/v1/subjects/{world.subject_id}/handover",
            json={"recipient": SENTRA},
            headers=world.auth("officer"),
        )
        assert exported.status_code == 201, exported.text
        officer = login(sentra_client, "s_officer")
        imported = sentra_client.post("/v1/handover/imports", json=exported.json(), headers=officer)
        assert imported.status_code == 201, imported.text
        again = sentra_client.post("/v1/handover/imports", json=exported.json(), headers=officer)
        assert again.status_code == 422
        assert again.headers["content-type"].startswith("application/problem+json")
        assert "replayed" in again.text


def test_a_counselor_cannot_export_over_http(pair: Pair) -> None:
    """The counselor of the subject asks for a bundle and is refused: no bundle leaves."""
    pair.consent_to_handover()
    response = pair.world.client.post(
        f"/v1/subjects/{pair.world.subject_id}/handover",
        json={"recipient": SENTRA},
        headers=pair.world.auth("counselor"),
    )
    assert response.status_code in (403, 404)
    assert "sealed" not in response.text
