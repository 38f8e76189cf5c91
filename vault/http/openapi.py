"""Render the OpenAPI document saying which operations need no token.

The document requires the bearer scheme globally. Litestar adds security
requirements layer by layer and cannot take one away, so a handler's
``security=[]`` leaves the global requirement in place and clients (and fuzzers)
are told that ``/health`` or the login itself need a token. The truth is the
``exclude_from_auth`` flag the authentication middleware reads: operations of
such handlers are rendered with an explicit empty requirement (``security: []``,
"no authentication" in OpenAPI). Done when the document is first served, not in
``create_app``: building the document costs ~0.1 s, and most apps never serve it.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request
from litestar.openapi.plugins import JsonRenderPlugin, YamlRenderPlugin
from litestar.routes import HTTPRoute


def mark_open_operations(app: Litestar, document: dict[str, Any]) -> dict[str, Any]:
    """Give every operation of a handler excluded from authentication ``security: []``."""
    paths: dict[str, Any] = document.get("paths") or {}
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path_format not in paths:
            continue
        for method, (handler, _) in route.route_handler_map.items():
            operation = paths[route.path_format].get(method.lower())
            if operation is not None and handler.opt.get("exclude_from_auth"):
                operation["security"] = []
    return document


class OpenJsonRenderPlugin(JsonRenderPlugin):
    """The JSON document, with the open operations marked."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, mark_open_operations(request.app, openapi_schema))


class OpenYamlRenderPlugin(YamlRenderPlugin):
    """The YAML document, with the open operations marked."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, mark_open_operations(request.app, openapi_schema))
