"""Policy: decision latency with the shipped Cedar policies against a trivial Python allow.

The engine is built from ``policies/`` exactly as the service builds it. The
cases are the decisions a request makes: a counselor's read of a
psychological assessment under a covering consent (allowed, two categories),
the same read with no consent (withheld), and an officer registering a
subject (a one-step decision). The baseline is a Python function of the same
signature that returns "allow" without looking: the floor of any decision.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import REPO, Mode, Row, Section, main, need, pick, sample_batched


def run(mode: Mode) -> Section:
    engine_module = need(
        "vault.access.engine", "the policy engine (issue 4, vault/access/engine.py)"
    )
    from vault.vocabulary import (
        Action,
        Category,
        ConsentGrant,
        Decision,
        DecisionContext,
        Principal,
        Resource,
        Role,
    )

    section = Section(name="policy", title="Policy")
    engine = engine_module.PolicyEngine.from_directory(REPO / "policies")
    now = datetime.now(UTC)
    org = "lapas-cipinang"
    subject = uuid.uuid4()
    counselor = Principal(uuid.uuid4(), Role.COUNSELOR, org)
    officer = Principal(uuid.uuid4(), Role.OFFICER, org)
    record = Resource(
        kind="record",
        subject_id=subject,
        organization=org,
        record_type="psychological_assessment",
        categories=frozenset({Category.PSYCHOLOGICAL, Category.PROGRAM}),
    )
    consent = ConsentGrant(
        consent_id=uuid.uuid4(),
        subject_id=subject,
        purpose="rehabilitation",
        categories=frozenset({Category.PSYCHOLOGICAL, Category.PROGRAM}),
        recipients=frozenset({org}),
        expires_at=now + timedelta(days=365),
    )
    with_consent = DecisionContext("rehabilitation", True, [consent], None, now)
    without = DecisionContext("rehabilitation", True, [], None, now)
    bare = DecisionContext(None, False, [], None, now)

    def trivial(
        principal: Principal, action: Action, resource: Resource, context: DecisionContext
    ) -> Decision:
        return Decision(True, ("allow-all",), "allowed", resource.categories)

    cases: list[tuple[str, Any, Any, Any, Any, bool]] = [
        (
            "counselor reads, consent covers",
            counselor,
            Action.READ_RECORD,
            record,
            with_consent,
            True,
        ),
        ("counselor reads, no consent", counselor, Action.READ_RECORD, record, without, False),
        (
            "officer registers a subject",
            officer,
            Action.REGISTER_SUBJECT,
            Resource("subject"),
            bare,
            True,
        ),
    ]
    budget = pick(mode, 0.5, 2.0, 5.0)
    for label, principal, action, resource, context, allowed in cases:
        decision = engine.decide(principal, action, resource, context)
        granted = bool(decision.categories) if action is Action.READ_RECORD else decision.allowed
        if granted != allowed:
            section.notes.append(f"{label}: unexpected decision {decision.reason!r}")

        args = (principal, action, resource, context)

        def shipped(args: tuple[Any, ...] = args) -> object:
            return engine.decide(*args)

        def floor(args: tuple[Any, ...] = args) -> object:
            return trivial(*args)

        v = sample_batched(shipped, batch=50, max_batches=400, max_seconds=budget)
        b = sample_batched(floor, batch=2000, max_batches=200, max_seconds=budget / 4)
        section.rows.append(
            Row(
                "policy",
                label,
                "Cedar (shipped policies)",
                sorted(v)[len(v) // 2] * 1e6,
                "trivial Python allow",
                sorted(b)[len(b) // 2] * 1e6,
                "µs",
            )
        )
    section.notes.append(
        "the ratio against a no-op is large by construction; what matters is the absolute µs "
        "against a request's budget (see the full-stack read)"
    )
    return section


if __name__ == "__main__":
    main("policy", run)
