"""The dashboard says when the required witnesses' cosignatures did not arrive in time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from tests.audit.conftest import sample_event
from tests.web.conftest import World, build_world, staff_login
from vault.app import create_app
from vault.audit.heads import NoteSigner
from vault.config import Settings
from vault.crypto.signing import Signer
from vault.transparency import VerifierKey
from vault.transparency.note import COSIGNATURE_V1

Client = TestClient  # type: ignore[type-arg]  # (the app's state type is not needed here)


@pytest.fixture
def quorum_world(settings: Settings) -> Iterator[World]:
    """A vault that requires one cosignature by a partner's witness within an hour."""
    witness = NoteSigner(Signer(bytes(range(32))))
    vkey = VerifierKey("bapas.example/witness", witness.public_key, COSIGNATURE_V1)
    configured = settings.model_copy(
        update={
            "audit_witness_keys": [str(vkey)],
            "audit_witness_quorum": 1,
            "audit_witness_seconds": 3600.0,
        }
    )
    with build_world(configured) as built:
        yield built


def test_the_dashboard_shows_a_head_no_witness_cosigned_in_time(quorum_world: World) -> None:
    """A fresh head is no alarm; an hour and more later without a cosignature it is shown."""
    for n in range(3):
        quorum_world.services.audit.append(sample_event(n))
    quorum_world.services.audit.checkpoint_now()
    app = create_app(quorum_world.services.settings, services=quorum_world.services)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        page = staff_login(client, "compliance1", "/dashboard/login")
        assert "witness-quorum" not in page
        quorum_world.clock.advance(hours=2)
        client.cookies.clear()  # the session has timed out meanwhile
        page = staff_login(client, "compliance1", "/dashboard/login")
        assert 'id="witness-quorum"' in page
        assert "0 / 1" in page
