"""The per-user read limit: bulk paging through records is stopped with 429 and audited."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_settings
from tests.records.test_story import ASSESSMENT, audit_events
from tests.world import World, build_world
from vault.errors import RateLimited
from vault.records.ratelimit import ReadLimiter


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
