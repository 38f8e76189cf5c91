"""The open witness routes refuse a flood from one address with a 429 problem+json."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from tests.audit.conftest import sample_event
from vault.app import create_app
from vault.config import Settings
from vault.errors import RateLimited
from vault.services import build_services
from vault.tlog.ratelimit import AddressLimiter

Client = TestClient  # type: ignore[type-arg]  # (the app's state type is not needed here)
LIMIT = 5


@pytest.fixture
def client(settings: Settings) -> Iterator[Client]:
    """The app with at most five witness-route requests a minute per address."""
    limited = settings.model_copy(update={"audit_witness_rate_per_minute": LIMIT})
    services = build_services(limited, migrate=True)
    services.audit.append(sample_event(1))
    services.audit.checkpoint_now()
    try:
        with TestClient(create_app(limited, services)) as test_client:
            yield test_client
    finally:
        services.close()


def test_a_flood_of_head_requests_is_refused(client: Client) -> None:
    """Five requests pass; the sixth, and a cosignature post after it, get 429 with Retry-After."""
    for _ in range(LIMIT):
        assert client.get("/v1/audit/heads/latest").status_code == 200
    refused = client.get("/v1/audit/heads/latest")
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert int(refused.headers["retry-after"]) >= 1
    posted = client.post(
        "/v1/audit/heads/1/cosignatures", json={"cosignature": "\u2014 w.example/w AAAA"}
    )
    assert posted.status_code == 429


def test_cosignature_posts_count_too(client: Client) -> None:
    """Bad cosignature posts use up the address's share like head requests do."""
    for _ in range(LIMIT):
        answer = client.post(
            "/v1/audit/heads/1/cosignatures", json={"cosignature": "\u2014 w.example/w AAAA"}
        )
        assert answer.status_code != 429
    assert client.get("/v1/audit/heads/latest").status_code == 429


def test_the_limit_is_per_address_and_slides() -> None:
    """Another address keeps its share; after the window the first one gets its share back."""
    now = [1000.0]
    limiter = AddressLimiter(2, 60.0, clock=lambda: now[0])
    limiter.check("10.0.0.1")
    limiter.check("10.0.0.1")
    with pytest.raises(RateLimited, match="At most 2 requests") as refused:
        limiter.check("10.0.0.1")
    assert refused.value.status == 429
    limiter.check("10.0.0.2")
    now[0] += 60.5
    limiter.check("10.0.0.1")


def test_zero_turns_the_limit_off() -> None:
    """With a limit of 0 nothing is counted or refused."""
    limiter = AddressLimiter(0)
    for _ in range(1000):
        limiter.check("10.0.0.1")
