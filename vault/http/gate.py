"""Deny by default at the door: a route that answers without asking the policy engine is refused.

Every handler of the vault either asks ``PolicyEngine.decide``/``authorize``
(which mark the request, ``vault.requestctx.note_decision``) before it does
or shows anything, or is declared open with ``opt={"asks_nothing": "why"}``
(liveness, the login itself, the published signing keys, the schema). A
handler that forgets both is a bug; rather than let its answer out, the
response is replaced by a 403 problem before its first byte is sent, and the
error is logged so the route gets fixed. Refusals (4xx, 5xx) pass unchanged:
they release nothing.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Message,
    Receive,
    Scope,
    Send,
)

from vault.http.openapi import handler_function
from vault.requestctx import start_decision_tracking

log = logging.getLogger("vault.http")

ASKS_NOTHING = "asks_nothing"
UNDECIDED_PROBLEM_TYPE = "https://vault.example/problems/undecided"


def is_vault_handler(handler: Any) -> bool:
    """Whether the handler was written in the vault (not Litestar's own schema or static routes)."""
    module = getattr(handler_function(handler), "__module__", "") or ""
    return module.startswith("vault.")


def declared_open(handler: Any) -> bool:
    """Whether a route handler is declared to need no decision (or is not the vault's own)."""
    if handler is None:
        return True  # no route matched: Litestar answers 404/405 itself
    if not is_vault_handler(handler):
        return True  # Litestar's own (the OpenAPI document, static files)
    reason = handler.opt.get(ASKS_NOTHING)
    return isinstance(reason, str) and bool(reason.strip())


def _refusal() -> tuple[HTTPResponseStartEvent, HTTPResponseBodyEvent]:
    body = json.dumps(
        {
            "type": UNDECIDED_PROBLEM_TYPE,
            "title": "This route asked no access decision, so it answers nothing",
            "status": 403,
        }
    ).encode()
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": 403,
        "headers": [
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(body)).encode()),
        ],
    }
    return start, {"type": "http.response.body", "body": body, "more_body": False}


def decision_gate(app: ASGIApp) -> ASGIApp:
    """Refuse the answer of any undeclared route that never asked the policy engine."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # type: ignore[comparison-overlap]  # the server sends str
            await app(scope, receive, send)
            return
        marker = start_decision_tracking()
        refused = False

        async def checked_send(message: Message) -> None:
            nonlocal refused
            if refused:
                return  # the handler's own body is swallowed
            if message["type"] == "http.response.start" and message["status"] < 400:
                handler = scope.get("route_handler")
                if not marker.asked and not declared_open(handler):
                    refused = True
                    log.error(
                        "route %s answered without an access decision; refused",
                        getattr(handler, "handler_name", "?"),
                    )
                    start, body = _refusal()
                    # Keep the request id and no-store headers the outer middleware adds.
                    await send(start)
                    await send(body)
                    return
            await send(message)

        await app(scope, receive, checked_send)

    return middleware
