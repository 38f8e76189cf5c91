"""ASGI middleware around the whole app: a request id on every response, and the Host check.

It wraps the outermost handler, so even a 404 for an unknown path or a
rejected Host header carries an id and is a problem+json.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from litestar.datastructures import MutableScopeHeaders
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Message,
    Receive,
    Scope,
    Send,
)

from vault.requestctx import RequestInfo, new_request_id, reset_current, set_current

REQUEST_ID_HEADER = "x-request-id"


def _host_without_port(raw: str) -> str:
    host = raw.strip().lower()
    if host.startswith("["):  # an IPv6 literal: [::1]:8000
        return host[: host.find("]") + 1]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _host_header(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"host":
            return value.decode("latin-1")
    return None


async def _reject_host(request_id: str, send: Send) -> None:
    body = json.dumps(
        {
            "type": "https://vault.example/problems/bad-host",
            "title": "The Host header names no host this vault serves",
            "status": 400,
            "request_id": request_id,
        }
    ).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
    ]
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": 400,
        "headers": headers,
    }
    end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
    await send(start)
    await send(end)


def request_id_middleware(app: ASGIApp, allowed_hosts: Iterable[str] = ("*",)) -> ASGIApp:
    """Give every request an id; refuse a Host (port ignored) outside ``allowed_hosts``."""
    allowed = {host.lower() for host in allowed_hosts}
    any_host = "*" in allowed

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        # Litestar types the scope type as an enum; ASGI servers send the plain string.
        if scope["type"] != "http":  # type: ignore[comparison-overlap]  # servers send a str
            await app(scope, receive, send)
            return
        # A fresh id always: a client-chosen id could be used to confuse the audit trail.
        request_id = new_request_id()
        client = scope.get("client")
        info = RequestInfo(request_id=request_id, client_addr=client[0] if client else None)
        token = set_current(info)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                headers[REQUEST_ID_HEADER] = request_id
                headers["cache-control"] = "no-store"
                headers["x-content-type-options"] = "nosniff"
            await send(message)

        host = _host_header(scope)
        if not any_host and (
            host is None
            # An entry names a host (any port) or a host:port exactly.
            or (host.strip().lower() not in allowed and _host_without_port(host) not in allowed)
        ):
            try:
                await _reject_host(request_id, send_with_id)
            finally:
                reset_current(token)
            return
        try:
            await app(scope, receive, send_with_id)
        finally:
            reset_current(token)

    return middleware
