"""The compliance dashboard says whether the consent rows agree with the audit log."""

from __future__ import annotations

from litestar.testing import TestClient

from tests.support import insert_unsigned_consent
from tests.web.conftest import ORG, World, staff_login


def test_the_dashboard_names_a_consent_the_audit_log_does_not_attest(
    world: World,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    subject = world.subject()
    page = staff_login(client, "compliance1", "/dashboard/login")
    assert "Every consent agrees with the audit log." in page
    forged = insert_unsigned_consent(world.services.db, subject, world.officers[ORG])
    page = client.get("/dashboard").text
    assert "1 consent(s) contradict the audit log" in page
    assert str(forged) in page
    assert "no signing of it is in the audit log" in page
