"""Deny by default at the door: every route asks the policy engine or is declared open."""

from __future__ import annotations

import sys
import types
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar, get
from litestar.routes import HTTPRoute
from litestar.testing import TestClient

from vault.access.engine import PolicyEngine
from vault.app import create_app
from vault.bootstrap import initialise
from vault.config import Settings
from vault.http.gate import ASKS_NOTHING, decision_gate, declared_open, is_vault_handler
from vault.services import build_services
from vault.vocabulary import Action, OperationFacts, Principal, Role

# Every route that answers without a decision, each for a reason its handler states.
# Adding one here is a security decision: say why in the handler's opt.
OPEN_ROUTES = {
    "GET /health",
    "GET /v1/keys/handover",
    "POST /v1/auth/login",
    "POST /v1/auth/activate",
    "POST /v1/auth/logout",
    "GET /v1/me",
    "POST /v1/me/totp",
    "POST /v1/me/totp/confirm",
    "GET /v1/keys/signing",
    "GET /v1/keys/jwks",
    "GET /v1/consent-forms",
    "GET /v1/consent-forms/{form_id}",
    "GET /dashboard/login",
    "POST /dashboard/login",
    "POST /dashboard/logout",
    "GET /kiosk/login",
    "GET /kiosk/ended",
    "GET /v1/audit/heads/latest",
    "POST /v1/audit/heads/{size}/cosignatures",
}


# The gate judges the vault's own handlers: these test handlers pose as a vault module.
_POSING_MODULE = types.ModuleType("vault.gate_example")
sys.modules.setdefault(_POSING_MODULE.__name__, _POSING_MODULE)


def _as_vault_handler(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn.__module__ = _POSING_MODULE.__name__
    return fn


def _app(engine: PolicyEngine) -> Litestar:
    principal = Principal(uuid.uuid4(), Role.COMPLIANCE_OFFICER, "org")

    @get("/forgets", sync_to_thread=False)
    @_as_vault_handler
    def forgets() -> dict[str, str]:
        return {"secret": "released"}

    @get("/asks", sync_to_thread=False)
    @_as_vault_handler
    def asks() -> dict[str, bool]:
        return {
            "allowed": engine.authorize(principal, Action.READ_AUDIT, OperationFacts("org")).allowed
        }

    @get("/asks-in-a-thread", sync_to_thread=True)
    @_as_vault_handler
    def asks_in_a_thread() -> dict[str, bool]:
        return {
            "allowed": engine.authorize(principal, Action.READ_AUDIT, OperationFacts("org")).allowed
        }

    @get("/open", opt={ASKS_NOTHING: "liveness, reveals nothing"}, sync_to_thread=False)
    @_as_vault_handler
    def open_route() -> dict[str, str]:
        return {"status": "ok"}

    app = Litestar(route_handlers=[forgets, asks, asks_in_a_thread, open_route])
    app.asgi_handler = decision_gate(app.asgi_handler)
    return app


POLICIES = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture
def gated() -> TestClient[Litestar]:
    return TestClient(_app(PolicyEngine.from_directory(POLICIES)))


def test_a_route_that_asks_nothing_is_refused(gated: TestClient[Litestar]) -> None:
    """A handler that never asked the engine answers 403 and its body never leaves."""
    with gated as client:
        response = client.get("/forgets")
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert "released" not in response.text


def test_a_route_that_asks_answers(gated: TestClient[Litestar]) -> None:
    """A handler that asked (on the loop or in a worker thread) answers as it decided."""
    with gated as client:
        assert client.get("/asks").json() == {"allowed": True}
        assert client.get("/asks-in-a-thread").json() == {"allowed": True}


def test_a_declared_open_route_answers(gated: TestClient[Litestar]) -> None:
    """A handler declared open with a reason answers without a decision."""
    with gated as client:
        assert client.get("/open").json() == {"status": "ok"}


def _routes(settings: Settings) -> list[tuple[str, Any]]:
    initialise(settings)
    # Built here and closed here: the app is never started, so its shutdown would not.
    services = build_services(settings)
    try:
        app = create_app(settings, services)
    finally:
        services.close()
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for method, (handler, _) in route.route_handler_map.items():
            if method in {"HEAD", "OPTIONS"}:
                continue
            if is_vault_handler(handler):
                found.append((f"{method} {route.path_format}", handler))
    return found


def test_every_route_asks_or_is_declared_open_on_purpose(settings: Settings) -> None:
    """Each route of the vault is gated by a decision, except exactly the listed open ones."""
    declared = {name for name, handler in _routes(settings) if declared_open(handler)}
    assert declared == OPEN_ROUTES
