"""A worker reading many distinct subjects keeps its caches within their bounds.

A national caseload reads records of hundreds of thousands of subjects; the
unwrapped-key cache and the decision memo must not grow with them (a worker's
memory would grow until it is killed). Both are bounded: once full, an older
entry goes, and a read of its subject is answered as before.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import make_settings
from tests.support import choose_pin
from tests.world import NEW_SUBJECT, SUBJECT_PIN, World, build_world
from vault.access.engine import PolicyEngine
from vault.vocabulary import (
    Action,
    Category,
    ConsentGrant,
    DecisionContext,
    Principal,
    Resource,
    Role,
)

POLICIES = Path(__file__).resolve().parents[2] / "policies"
KEYS_KEPT = 2
NOTE = {"session_date": "2026-03-01", "note": "Talked about the family visit."}


@pytest.fixture
def small_cache_world(database_url: str, tmp_path: Path) -> Iterator[World]:
    """The records world with a key cache of two keys."""
    yield from build_world(make_settings(database_url, tmp_path, dek_cache_size=KEYS_KEPT))


def _subject_with_a_note(world: World, n: int) -> tuple[str, str]:
    """One more subject, on the counselor's team, consented, with a progress note."""
    subject = {**NEW_SUBJECT, "nik": f"31710123456{n:05d}", "register_number": f"AI {n}/2026"}
    subject_id = str(world.post("officer", "/v1/subjects", subject)["id"])
    choose_pin(world.services, subject_id, SUBJECT_PIN)
    world.post(
        "admin",
        "/v1/assignments",
        {"user_id": world.user_ids["counselor"], "subject_id": subject_id},
    )
    world.sign_consent(["counseling"], subject_id=subject_id)
    body = world.post(
        "counselor",
        f"/v1/subjects/{subject_id}/records",
        {"type": "progress_note", "fields": NOTE},
    )
    return subject_id, str(body["id"])


def test_reading_more_subjects_than_the_key_cache_holds_keeps_it_bounded(
    small_cache_world: World,
) -> None:
    """Reads of five subjects leave at most two unwrapped keys in memory, and every
    subject's record still reads in full, the evicted ones included."""
    world = small_cache_world
    made = [_subject_with_a_note(world, n) for n in range(5)]
    cache = world.services.subject_keys.cache
    for subject_id, record_id in [*made, *made]:
        answer = world.client.get(
            f"/v1/subjects/{subject_id}/records/{record_id}",
            params={"purpose": "counseling"},
            headers=world.auth("counselor"),
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["fields"] == NOTE
        assert len(cache) <= KEYS_KEPT


def test_the_decision_memo_forgets_the_oldest_answers_beyond_its_size() -> None:
    """Decisions about many subjects (each with its own consent) remember at most the
    memo's size, and a forgotten decision is made again with the same answer."""
    engine = PolicyEngine.from_directory(POLICIES)
    small = PolicyEngine(engine.policies, memo_size=8)
    counselor = Principal(id=uuid.uuid4(), role=Role.COUNSELOR, organization="lapas-a")
    now = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

    def read(on: PolicyEngine, subject: uuid.UUID, consent: ConsentGrant) -> frozenset[Category]:
        resource = Resource(
            "record", subject, "lapas-a", "psychological_assessment", {Category.PSYCHOLOGICAL}
        )
        context = DecisionContext("counseling", True, (consent,), None, now)
        return on.decide(counselor, Action.READ_RECORD, resource, context).categories

    cases = []
    for _ in range(40):
        subject = uuid.uuid4()
        consent = ConsentGrant(
            uuid.uuid4(),
            subject,
            "counseling",
            frozenset({Category.PSYCHOLOGICAL}),
            frozenset({"lapas-a"}),
            None,
        )
        cases.append((subject, consent))
        assert read(small, subject, consent) == {Category.PSYCHOLOGICAL}
        assert small.remembered <= 2 * 8  # whole decisions and Cedar's answers
    for subject, consent in cases[:3]:  # long forgotten: decided again, alike
        assert read(small, subject, consent) == read(engine, subject, consent)
