"""The clinician of THREATS.md (a counselor or health officer with break-glass), and the
compliance officers who review them: break-glass cannot be held open forever, repeated
after an unjustified review, or used past a daily cap; a review counts only from another
person of the grant's own organisation."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.support import Clock, create_user, insert_subject, login
from vault.app import create_app
from vault.config import Settings
from vault.identity.models import User
from vault.services import Services, build_services

ORG = "rutan-jakpus"
OTHER = "lapas-cipinang"
JUSTIFICATION = {
    "justification": "Subject collapsed in the cell block; the treating team needs the "
    "current medication history before the ambulance arrives."
}


@dataclass
class Ward:
    client: TestClient[Litestar]
    services: Services
    clock: Clock
    subject: uuid.UUID
    ids: dict[str, uuid.UUID]
    headers: dict[str, dict[str, str]]

    def open(self, who: str, subject: uuid.UUID | None = None) -> Any:
        return self.client.post(
            f"/v1/subjects/{subject or self.subject}/break-glass",
            json=JUSTIFICATION,
            headers=self.headers[who],
        )

    def review(self, who: str, grant_id: str, outcome: str = "unjustified") -> Any:
        return self.client.post(
            f"/v1/break-glass/{grant_id}/review",
            json={"outcome": outcome},
            headers=self.headers[who],
        )

    def expire(self) -> None:
        self.clock.advance(self.services.settings.break_glass_ttl_seconds)

    def later(self, seconds: float) -> None:
        """Move the clock on, logging everyone in again (bearer tokens expire too)."""
        self.clock.advance(seconds)
        self.headers = {who: login(self.client, who) for who in self.headers}


@pytest.fixture
def ward(settings: Settings) -> Iterator[Ward]:
    """A health officer and two compliance officers of one organisation, one of another,
    and a subject, on a clock the test moves."""
    clock = Clock()
    services = build_services(settings, clock=clock, migrate=True)
    staff = {
        "health": ("health_officer", ORG),
        "compliance": ("compliance_officer", ORG),
        "compliance2": ("compliance_officer", ORG),
        "compliance_other": ("compliance_officer", OTHER),
    }
    try:
        with TestClient(create_app(settings, services)) as client:
            ids = {who: create_user(services, who, *spec) for who, spec in staff.items()}
            headers = {who: login(client, who) for who in staff}
            subject = insert_subject(services, ORG)
            yield Ward(client, services, clock, subject, ids, headers)
    finally:
        services.close()


def _problem(response: Any) -> dict[str, Any]:
    body = dict(response.json())
    body.pop("request_id", None)
    return body


def test_break_glass_cannot_be_held_open_forever(ward: Ward) -> None:
    """Open, read, open again: the second grant on the same subject is refused while the
    first is open, so no one extends an emergency by reopening it."""
    opened = ward.open("health")
    assert opened.status_code == 201, opened.text
    listing = ward.client.get(
        f"/v1/subjects/{ward.subject}/records",
        params={"purpose": "emergency"},
        headers=ward.headers["health"],
    )
    assert listing.status_code == 200, listing.text
    ward.clock.advance(ward.services.settings.break_glass_ttl_seconds - 60)
    again = ward.open("health")
    assert again.status_code == 409, again.text


def test_a_second_grant_while_one_is_open_is_refused(ward: Ward) -> None:
    """At most one open grant per person and subject; the refusal is audited."""
    assert ward.open("health").status_code == 201
    assert ward.open("health").status_code == 409
    other_subject = insert_subject(ward.services, ORG)
    assert ward.open("health", other_subject).status_code == 201


def test_no_new_grant_after_an_unjustified_review_until_the_block_is_lifted(ward: Ward) -> None:
    """A grant reviewed as unjustified blocks its holder from opening another, until a
    compliance officer of their organisation lifts the block (audited)."""
    grant = ward.open("health").json()["id"]
    assert ward.review("compliance", grant).status_code == 200
    refused = ward.open("health")
    assert refused.status_code == 403, refused.text
    lift = f"/v1/break-glass/blocks/{ward.ids['health']}/lift"
    elsewhere = ward.client.post(lift, headers=ward.headers["compliance_other"])
    missing = ward.client.post(
        f"/v1/break-glass/blocks/{uuid.uuid4()}/lift", headers=ward.headers["compliance_other"]
    )
    assert elsewhere.status_code == missing.status_code == 404
    assert _problem(elsewhere) == _problem(missing)
    assert ward.client.post(lift, headers=ward.headers["health"]).status_code == 403
    lifted = ward.client.post(lift, headers=ward.headers["compliance2"])
    assert lifted.status_code == 200, lifted.text
    assert ward.open("health").status_code == 201


def test_the_daily_cap_stops_a_string_of_short_emergencies(ward: Ward) -> None:
    """After VAULT_BREAK_GLASS_DAILY_CAP grants in 24 hours (each expired before the next),
    the next is refused with a 429 and a Retry-After; a day later it is allowed again."""
    cap = ward.services.settings.break_glass_daily_cap
    for _ in range(cap):
        assert ward.open("health").status_code == 201
        ward.expire()
    refused = ward.open("health")
    assert refused.status_code == 429, refused.text
    assert int(refused.headers["retry-after"]) > 0
    ward.later(24 * 3600)
    assert ward.open("health").status_code == 201


def test_a_compliance_officer_cannot_review_a_grant_of_their_own_making(ward: Ward) -> None:
    """A review of a grant held by an account the reviewer created (their second hand) does
    not count: refused, and the grant stays pending."""
    with ward.services.db.session() as session:
        user = session.get(User, ward.ids["health"])
        assert user is not None
        user.created_by = ward.ids["compliance"]
        session.add(user)
    grant = ward.open("health").json()["id"]
    refused = ward.review("compliance", grant, "justified")
    assert refused.status_code == 403, refused.text
    pending = ward.client.get("/v1/break-glass?pending=true", headers=ward.headers["compliance2"])
    assert [g["id"] for g in pending.json()] == [grant]
    reviewed = ward.review("compliance2", grant, "justified")
    assert reviewed.status_code == 200
    assert reviewed.json()["reviewer_id"] == str(ward.ids["compliance2"])


def test_a_compliance_officer_of_another_organisation_neither_lists_nor_reviews(
    ward: Ward,
) -> None:
    """Another organisation's compliance officer does not see the grant (nor its sealed
    justification) and reviewing it answers exactly like a missing grant."""
    grant = ward.open("health").json()["id"]
    listed = ward.client.get("/v1/break-glass", headers=ward.headers["compliance_other"])
    assert listed.status_code == 200
    assert listed.json() == []
    review = ward.review("compliance_other", grant)
    missing = ward.review("compliance_other", str(uuid.uuid4()))
    assert review.status_code == missing.status_code == 404
    assert _problem(review) == _problem(missing)
    own = ward.client.get("/v1/break-glass", headers=ward.headers["compliance"])
    assert [g["id"] for g in own.json()] == [grant]


def test_the_openers_of_the_last_30_days_are_counted_per_person(ward: Ward) -> None:
    """GET /v1/break-glass/openers ranks the organisation's staff by grants opened in the
    last 30 days, for its compliance officers only."""
    grant = ward.open("health").json()["id"]
    ward.review("compliance", grant)
    openers = ward.client.get("/v1/break-glass/openers", headers=ward.headers["compliance"])
    assert openers.status_code == 200, openers.text
    assert openers.json() == [
        {
            "user_id": str(ward.ids["health"]),
            "username": "health",
            "role": "health_officer",
            "grants": 1,
            "unjustified": 1,
        }
    ]
    elsewhere = ward.client.get("/v1/break-glass/openers", headers=ward.headers["compliance_other"])
    assert elsewhere.json() == []
    assert (
        ward.client.get("/v1/break-glass/openers", headers=ward.headers["health"]).status_code
        == 403
    )
    ward.later(31 * 24 * 3600)
    later = ward.client.get("/v1/break-glass/openers", headers=ward.headers["compliance"])
    assert later.json() == []
