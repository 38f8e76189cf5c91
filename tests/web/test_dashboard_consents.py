"""The compliance dashboard says whether consent rows, assignments and emergency grants
agree with the audit log."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from litestar.testing import TestClient
from sqlalchemy import text

from tests.support import insert_unsigned_consent
from tests.web.conftest import ORG, World, staff_login


def test_the_dashboard_names_a_consent_the_audit_log_does_not_attest(
    world: World,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """The dashboard names a consent the audit log does not attest."""
    subject = world.subject()
    page = staff_login(client, "compliance1", "/dashboard/login?lang=en")
    assert "Every consent agrees with the audit log." in page
    forged = insert_unsigned_consent(world.services.db, subject, world.officers[ORG])
    page = client.get("/dashboard").text
    assert "1 consent(s) contradict the audit log" in page
    assert str(forged) in page
    assert "no signing of it is in the audit log" in page


def test_the_dashboard_names_an_assignment_the_audit_log_does_not_attest(
    world: World,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """The dashboard names an assignment the audit log does not attest."""
    subject = world.subject()
    page = staff_login(client, "compliance1", "/dashboard/login?lang=en")
    assert "Every assignment and emergency grant agrees with the audit log." in page
    forged = uuid.uuid4()

    def stored(value: uuid.UUID) -> object:
        return value.hex if world.services.db.is_sqlite else value

    with world.services.db.session() as session:
        session.execute(
            text(
                "INSERT INTO assignments (id, created_at, updated_at, user_id, subject_id, "
                "assigned_by) VALUES (:id, :now, :now, :u, :s, :u)"
            ),
            {
                "id": stored(forged),
                "now": datetime.now(UTC),
                "u": stored(world.officers[ORG]),
                "s": stored(subject),
            },
        )
    page = client.get("/dashboard").text
    assert "1 assignment(s) or emergency grant(s) contradict the audit log" in page
    assert str(forged) in page
