"""Schemathesis over the vault's own OpenAPI document, in process, with a valid token of
every role: no 5xx, every error a problem+json, every response as the schema says.

Each operation is tried with generated valid and invalid input, against random ids and
against the ids of the world's real subject, record and consent, each example as two
roles taken in turn, so every operation meets every role.
Examples are bounded and derandomised so the run is short and the same on every machine.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support import create_user, login
from tests.world import ORG, World
from vault.app import create_app

ROLES = ("admin", "officer", "counselor", "counselor2", "social_worker", "health", "compliance")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
EXAMPLES = {GenerationMode.POSITIVE: 3, GenerationMode.NEGATIVE: 2}
CANARY = "CANARY-FUZZ-5c1e: sleeps poorly"


def assert_problem(response: Any) -> None:
    """Every 4xx/5xx is application/problem+json with type, title and status."""
    if response.status_code < 400:
        return
    content_type = response.headers["content-type"]
    if isinstance(content_type, list):  # schemathesis keeps every value of a header
        content_type = content_type[0]
    assert content_type.startswith("application/problem+json"), (
        response.status_code,
        content_type,
        response.text[:300],
    )
    body = json.loads(response.text)
    assert {"type", "title", "status"} <= set(body), body
    assert body["status"] == response.status_code
    assert "Traceback" not in response.text


@pytest.fixture(scope="module")
def fuzz_target(shared_world: World) -> Iterator[dict[str, Any]]:
    """The world with a record, spare tokens for logout, and the loaded schema."""
    world = shared_world
    record_id = world.create_record(
        "counselor",
        "psychological_assessment",
        {"instrument": "SRQ-20", "summary": CANARY, "risk_level": "low", "recommendations": "x"},
    )
    create_user(world.services, "leaver", "counselor", ORG)
    # Logout revokes the token it is given: each logout example spends one of these.
    spare = [login(world.client, "leaver") for _ in range(12)]
    # An app of its own over the same services: schemathesis runs its lifespan itself.
    app = create_app(world.services.settings, world.services)
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app)
    real_ids = {
        "subject_id": world.subject_id,
        "record_id": record_id,
        "consent_id": world.consent_id,
        "user_id": world.user_ids["counselor2"],
        "assignment_id": world.assignment_ids["health"],
    }
    yield {"world": world, "schema": schema, "real_ids": real_ids, "spare": spare}
    shutdown_lifespans()


def operations(schema: Any) -> list[Any]:
    return [result.ok() for result in schema.get_all_operations()]


def run_operation(target: dict[str, Any], operation: Any, mode: GenerationMode) -> int:
    """Send generated cases of one operation as every role; returns how many were sent."""
    world: World = target["world"]
    spare: list[dict[str, str]] = target["spare"]
    names = {p.name for p in operation.path_parameters}
    fixed = {k: v for k, v in target["real_ids"].items() if k in names}
    strategies = [operation.as_strategy(generation_mode=mode)]
    if fixed and mode is GenerationMode.POSITIVE:
        strategies.append(operation.as_strategy(generation_mode=mode, path_parameters=fixed))
    sent = 0
    roles = itertools.cycle(ROLES)

    for strategy in strategies:

        @hypothesis.settings(
            max_examples=EXAMPLES[mode],
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @hypothesis.given(case=strategy)
        def send(case: Any) -> None:
            nonlocal sent
            if operation.path == "/v1/auth/logout":
                tokens = [spare.pop()] if spare else []
            else:
                # Two roles an example, taken in turn: every operation meets every role.
                tokens = [world.auth(next(roles)) for _ in range(2)]
            for headers in tokens:
                response = case.call_and_validate(headers=headers, checks=CHECKS)
                assert_problem(response)
                assert CANARY not in response.text or response.status_code == 200
                sent += 1

        try:
            send()
        except hypothesis.errors.Unsatisfiable:
            # An operation without parameters or body has no invalid input to generate.
            assert mode is GenerationMode.NEGATIVE, operation.label
    return sent


def test_every_operation_as_every_role_keeps_its_contract(fuzz_target: dict[str, Any]) -> None:
    """No generated request, valid or not, as any role, gets a 5xx or an off-schema answer."""
    sent = 0
    ops = operations(fuzz_target["schema"])
    assert len(ops) >= 30, "the whole API is in the document"
    failures: list[str] = []
    for operation in ops:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                sent += run_operation(fuzz_target, operation, mode)
            except (Exception, FailureGroup) as exc:  # noqa: BLE001 - one run names every failure
                detail = "; ".join(str(e)[:400] for e in getattr(exc, "exceptions", [exc]))
                failures.append(f"{operation.label} [{mode.value}]: {detail}")
    assert not failures, "\n\n".join(failures)
    assert sent > len(ops) * len(ROLES)
    # The fuzzing did not break the vault: the real record still reads, the chain verifies.
    world: World = fuzz_target["world"]
    verify = world.client.get("/v1/audit/verify", headers=world.auth("compliance"))
    assert verify.status_code == 200, verify.text
    assert verify.json()["ok"] is True


def test_the_schema_hides_secrets_in_examples(fuzz_target: dict[str, Any]) -> None:
    """The OpenAPI document carries no canary, password, PIN or token of the world."""
    world: World = fuzz_target["world"]
    document = world.client.get("/schema/openapi.json").text
    tokens = [h["Authorization"].split()[1] for h in world.headers.values()]
    for secret in [CANARY, "correct horse battery staple", "482915", "3171012345678901", *tokens]:
        assert secret not in document
