"""A record read whose audit event cannot be written discloses nothing (503, no plaintext)."""

from __future__ import annotations

from sqlalchemy import text

from tests.audit.fakes import audit_writes_refused
from tests.world import World

SECRET = "Hears voices at night since the transfer"


def _count_reads(world: World) -> int:
    with world.services.db.engine.connect() as conn:
        query = text("SELECT count(*) FROM audit_events WHERE action = 'record.read'")
        return int(conn.execute(query).scalar_one())


def test_no_plaintext_leaves_when_the_audit_event_cannot_be_written(world: World) -> None:
    """A read (allowed or denied) whose event the database refuses is a 503 with no plaintext."""
    record = world.create_record(
        "counselor",
        "psychological_assessment",
        {"instrument": "SRQ-20", "summary": SECRET, "risk_level": "high"},
    )
    before = _count_reads(world)

    with audit_writes_refused(world.services.db):
        refused = world.read("counselor", record, "counseling")
        # A denied read needs its event too: no answer that skips the log.
        denied = world.read("counselor", record, "social_reintegration")
    for response in (refused, denied):
        assert response.status_code == 503
        assert response.headers["content-type"].startswith("application/problem+json")
        assert SECRET not in response.text
        assert "SRQ-20" not in response.text
    assert _count_reads(world) == before
    # Once the log can write again the same read is answered, and recorded.
    again = world.read("counselor", record, "counseling")
    assert again.status_code == 200
    assert again.json()["fields"]["summary"] == SECRET
    assert _count_reads(world) == before + 1
