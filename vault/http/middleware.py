"""ASGI middleware giving every request an id (header ``X-Request-ID``)."""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from vault.requestctx import RequestInfo, new_request_id, reset_current, set_current

REQUEST_ID_HEADER = "x-request-id"


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        # Litestar types the scope type as an enum; ASGI servers send the plain string.
        if scope["type"] != "http":  # type: ignore[comparison-overlap]
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

        try:
            await app(scope, receive, send_with_id)
        finally:
            reset_current(token)

    return middleware
