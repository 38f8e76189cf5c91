"""``vault.records.decisions``: the facts of a record decision, and the event it becomes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from vault.audit.events import Outcome
from vault.records.decisions import DecisionFacts, decision_event
from vault.subjects.visibility import HIDDEN_REASON
from vault.vocabulary import (
    EMERGENCY_PURPOSE,
    Action,
    BreakGlassGrant,
    Category,
    ConsentGrant,
    Decision,
    DecisionContext,
    EventAction,
    OperationFacts,
    Principal,
    Resource,
    Role,
)

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
NURSE = Principal(uuid.UUID(int=10), Role.HEALTH_OFFICER, "lapas-a")
SUBJECT = uuid.UUID(int=1)
READS: Any = None  # the fakes below read nothing
GRANT = BreakGlassGrant(uuid.UUID(int=50), NURSE.id, SUBJECT, NOW + timedelta(hours=1))
CONSENT = ConsentGrant(
    uuid.UUID(int=99), SUBJECT, "counseling", frozenset({Category.PROGRAM}), frozenset(), None
)


class Facts:
    """What the consent and access capabilities answer, and what they were asked."""

    def __init__(self) -> None:
        self.asked_break_glass = 0

    def active_consents(self, subject_id: uuid.UUID, now: datetime, session: Any = None) -> Any:
        return [CONSENT] if subject_id == SUBJECT else []

    def is_assigned(self, session: Any, user_id: uuid.UUID, subject_id: uuid.UUID) -> bool:
        return user_id == NURSE.id and subject_id == SUBJECT

    def break_glass(
        self, session: Any, user_id: uuid.UUID, subject_id: uuid.UUID, now: datetime
    ) -> BreakGlassGrant | None:
        self.asked_break_glass += 1
        return GRANT


class Policy:
    """A policy engine that remembers what it was asked and refuses."""

    def __init__(self) -> None:
        self.asked: list[tuple[Action, Resource, DecisionContext]] = []

    def decide(
        self, principal: Principal, action: Action, resource: Resource, context: DecisionContext
    ) -> Decision:
        self.asked.append((action, resource, context))
        return Decision(allowed=False, policy_ids=("records.deny-default",), reason="no rule")

    def authorize(
        self, principal: Principal, action: Action, facts: OperationFacts, subject_id: Any = None
    ) -> Decision:
        raise AssertionError("records decide; they never authorize")


def _facts() -> tuple[DecisionFacts, Facts, Policy]:
    facts, policy = Facts(), Policy()
    return (
        DecisionFacts(consents=facts, facts=facts, policy=policy, clock=lambda: NOW),
        facts,
        policy,
    )


def test_context_gathers_assignment_and_consents_now() -> None:
    """The context holds the caller's assignment and the subject's active consents."""
    decisions, _, _ = _facts()
    context = decisions.context(READS, NURSE, SUBJECT, "counseling")
    assert context.assigned is True
    assert list(context.consents) == [CONSENT]
    assert (context.purpose, context.now) == ("counseling", NOW)


def test_break_glass_is_looked_up_only_for_an_emergency() -> None:
    """Outside an emergency no grant is even read; for one, the caller's grant is a fact."""
    decisions, facts, _ = _facts()
    assert decisions.context(READS, NURSE, SUBJECT, "counseling").break_glass is None
    assert facts.asked_break_glass == 0
    assert decisions.context(READS, NURSE, SUBJECT, EMERGENCY_PURPOSE).break_glass == GRANT


def test_unseen_subject_is_still_decided_with_no_fact_that_could_allow() -> None:
    """A hidden subject's refusal asks the engine with no org, consent or assignment."""
    decisions, _, policy = _facts()
    event = decisions.unseen(NURSE, Action.READ_RECORD, SUBJECT, "counseling")
    [(action, resource, context)] = policy.asked
    assert action is Action.READ_RECORD
    assert resource.organization is None
    assert (context.assigned, tuple(context.consents), context.break_glass) == (False, (), None)
    assert event.reason == HIDDEN_REASON
    assert event.policy_ids == ("records.deny-default",)
    assert event.outcome is Outcome.DENY


def test_decision_event_records_what_allowed_and_what_was_withheld() -> None:
    """An allowed read names its consent and how many categories were withheld, no reason."""
    allowed = Decision(
        allowed=True,
        policy_ids=("release.consent",),
        reason="allowed",
        categories=frozenset({Category.PROGRAM}),
        withheld={Category.FAMILY: "no consent"},
        consent_id=CONSENT.consent_id,
    )
    event = decision_event(
        NURSE,
        EventAction.RECORD_READ,
        SUBJECT,
        uuid.UUID(int=7),
        allowed,
        "counseling",
        categories=("program",),
    )
    assert event.outcome is Outcome.ALLOW
    assert event.consent_id == CONSENT.consent_id
    assert event.reason is None
    assert event.details == {"withheld": 1}
    assert event.categories == ("program",)


def test_refused_decision_event_carries_the_reason() -> None:
    """A refusal is recorded with the engine's reason and no withheld count when none."""
    refused = Decision(allowed=False, policy_ids=("x",), reason="no rule")
    event = decision_event(NURSE, EventAction.RECORD_LIST, SUBJECT, None, refused, None)
    assert event.outcome is Outcome.DENY
    assert event.reason == "no rule"
    assert event.details == {}
