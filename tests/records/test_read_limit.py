"""The per-user read limit: bulk paging through records is stopped with 429 and audited."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from litestar.testing import TestClient

from tests.conftest import make_settings
from tests.records.story import ASSESSMENT, audit_events
from tests.world import World, build_world
from vault.app import create_app
from vault.cursor_reads import PreparedQuery
from vault.errors import RateLimited
from vault.records.ratelimit import _RECENT_READS, ReadLimiter
from vault.services import build_services


@pytest.fixture
def limited_world(database_url: str, tmp_path: Path) -> Iterator[World]:
    yield from build_world(make_settings(database_url, tmp_path, read_limit_per_minute=3))


def test_reads_past_the_limit_get_429_with_retry_after(limited_world: World) -> None:
    """The fourth read within a minute is refused with Retry-After and a deny event;
    another user is not affected."""
    world = limited_world
    rid = world.create_record("counselor", "psychological_assessment", ASSESSMENT)
    for _ in range(3):
        assert world.read("counselor", rid, purpose="counseling").status_code == 200
    refused = world.read("counselor", rid, purpose="counseling")
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert "CANARY" not in refused.text
    assert world.read("social_worker", rid, purpose="social_reintegration").status_code == 200
    denied = audit_events(world, subject_id=world.subject_id, decision="deny")
    assert any(e["reason"] == "read rate limit" for e in denied)


def test_the_window_slides() -> None:
    """Reads older than the window no longer count."""
    now = [0.0]
    limiter = ReadLimiter(2, 60.0, clock=lambda: now[0])
    user = uuid.uuid4()
    limiter.check(user)
    limiter.check(user)
    with pytest.raises(RateLimited, match="record reads"):
        limiter.check(user)
    now[0] = 61.0
    limiter.check(user)


def test_the_limit_holds_across_processes(limited_world: World) -> None:
    """Reads spread over two vault processes on one database share one budget: the
    count comes from the audit log, not from each process's memory."""
    world = limited_world
    rid = world.create_record("counselor", "psychological_assessment", ASSESSMENT)
    settings = world.services.settings
    other_process = build_services(settings)
    try:
        with TestClient(create_app(settings, other_process)) as other:
            path = f"/v1/subjects/{world.subject_id}/records/{rid}"
            params = {"purpose": "counseling"}
            assert world.read("counselor", rid, purpose="counseling").status_code == 200
            assert world.read("counselor", rid, purpose="counseling").status_code == 200
            # The other process has seen no read of this user, but the log has two.
            headers = world.auth("counselor")
            assert other.get(path, params=params, headers=headers).status_code == 200
            assert other.get(path, params=params, headers=headers).status_code == 429
        assert world.read("counselor", rid, purpose="counseling").status_code == 429
    finally:
        other_process.close()


def test_the_count_goes_by_index_and_stops_at_the_limit(limited_world: World) -> None:
    """Counted on every read: by (actor, action, time), never all of a user's events."""
    db = limited_world.services.db
    if not db.is_sqlite:
        pytest.skip("the plan is checked on SQLite (PostgreSQL plans by table statistics)")
    query = PreparedQuery(_RECENT_READS, db.engine.dialect)
    params = query.parameters({"actor_id": uuid.uuid4(), "since": datetime.now(UTC), "cap": 3})
    with db.engine.connect() as conn:
        plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + query.sql, params).all()
    assert any("ix_audit_events_actor_action_time" in str(step) for step in plan), plan
    assert "LIMIT" in query.sql


def test_a_read_decided_twice_counts_once(limited_world: World) -> None:
    """A read that needs more than it sent ahead (a subject that does not exist) is decided
    once more in an open transaction, but counts once against the caller's limit."""
    world = limited_world
    rid = world.create_record("counselor", "psychological_assessment", ASSESSMENT)
    assert world.read("counselor", rid, purpose="counseling").status_code == 200
    for _ in range(2):
        missing = world.read("counselor", str(uuid.uuid4()), "counseling", str(uuid.uuid4()))
        assert missing.status_code == 404
    refused = world.read("counselor", rid, purpose="counseling")
    assert refused.status_code == 429
