"""The clinician of THREATS.md (a counselor or health officer with break-glass), and the
compliance officers who review them: break-glass cannot be held open forever, repeated
after an unjustified review, or used past a daily cap; a review counts only from another
person of the grant's own organisation."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.insiders.ward import JUSTIFICATION_TEXT, ORG, Ward
from tests.records.story import ASSESSMENT
from tests.support import insert_subject, made_by
from tests.world import World
from vault.errors import Conflict, RateLimited
from vault.services import Services, build_services


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
    made_by(ward.services, ward.ids["health"], ward.ids["compliance"])
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


def _race(ward: Ward, subjects: Sequence[uuid.UUID], services: Sequence[Services]) -> list[str]:
    """Open a grant on each subject at the same moment, from threads spread over the
    given service instances (each its own connection pool, like separate processes)."""
    start = threading.Barrier(len(subjects))
    who = ward.principal("health")

    def attempt(n: int) -> str:
        access = services[n % len(services)].access
        start.wait()
        try:
            access.open_break_glass(who, subjects[n], JUSTIFICATION_TEXT)
        except Conflict:
            return "open"
        except RateLimited:
            return "capped"
        return "opened"

    with ThreadPoolExecutor(max_workers=len(subjects)) as pool:
        return list(pool.map(attempt, range(len(subjects))))


def test_parallel_opens_on_one_subject_give_one_grant(ward: Ward) -> None:
    """Eight requests at once for the same subject: exactly one grant opens."""
    outcomes = _race(ward, [ward.subject] * 8, [ward.services])
    assert outcomes.count("opened") == 1, outcomes
    assert outcomes.count("open") == 7, outcomes


def test_parallel_opens_on_many_subjects_stop_at_the_daily_cap(ward: Ward) -> None:
    """Requests at once for as many subjects as the cap and four more: no more than the
    cap open."""
    cap = ward.services.settings.break_glass_daily_cap
    subjects = [insert_subject(ward.services, ORG) for _ in range(cap + 4)]
    outcomes = _race(ward, subjects, [ward.services])
    assert outcomes.count("opened") == cap, outcomes
    assert outcomes.count("capped") == 4, outcomes


def test_two_processes_opening_at_once_give_one_grant(ward: Ward) -> None:
    """Two vault instances over the same store (two connection pools, as two processes
    have) opening for the same person and subject at once: one grant."""
    second = build_services(ward.services.settings, clock=ward.clock)
    try:
        outcomes = _race(ward, [ward.subject] * 6, [ward.services, second])
        assert outcomes.count("opened") == 1, outcomes
        subjects = [insert_subject(ward.services, ORG) for _ in range(5)]
        more = _race(ward, subjects, [ward.services, second])
        cap = ward.services.settings.break_glass_daily_cap
        assert more.count("opened") == cap - 1, more
    finally:
        second.close()


def test_access_ends_with_the_assignment_though_the_decision_was_remembered(
    world: World,
) -> None:
    """A counselor reads the same record again and again (the decision is remembered), then
    the assignment ends: the very next read is refused, and so is a read after it."""
    record = world.create_record("counselor", "psychological_assessment", ASSESSMENT)
    for _ in range(3):
        read = world.read("counselor", record, "counseling")
        assert read.json()["fields"] == ASSESSMENT
    assignment = world.assignment_ids["counselor"]
    ended = world.client.delete(f"/v1/assignments/{assignment}", headers=world.auth("admin"))
    assert ended.status_code == 204, ended.text
    for _ in range(2):
        refused = world.read("counselor", record, "counseling")
        assert refused.status_code == 404, refused.text
        assert ASSESSMENT["summary"] not in refused.text
    # A colleague still assigned reads on; the withdrawal of the consent ends that too.
    assert world.read("social_worker", record, "social_reintegration").status_code == 200
    withdrawn = world.client.post(
        f"/v1/consents/{world.consent_id}/withdraw", json={}, headers=world.auth("officer")
    )
    assert withdrawn.status_code == 200, withdrawn.text
    after = world.read("social_worker", record, "social_reintegration")
    assert ASSESSMENT["summary"] not in after.text
