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

import inspect
from typing import Any

from litestar import Litestar, Request
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.plugins import JsonRenderPlugin, YamlRenderPlugin
from litestar.routes import HTTPRoute
from litestar.types import Method
from litestar.types.internal_types import PathParameterDefinition


def mark_open_operations(app: Litestar, document: dict[str, Any]) -> dict[str, Any]:
    """Give every operation of a handler excluded from authentication ``security: []``."""
    paths: dict[str, Any] = document.get("paths") or {}
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path_format not in paths:
            continue
        for method, (handler, _) in route.route_handler_map.items():
            operation = paths[route.path_format].get(method.lower())
            if operation is None:
                continue
            if handler.opt.get("exclude_from_auth"):
                operation["security"] = []
            # Summary and description from the handler's own docstring, never from a
            # wrapper's (Litestar may wrap a sync handler and document the wrapper).
            doc = (handler_function(handler).__doc__ or "").strip()
            if doc and not handler.summary:
                operation["summary"] = doc.splitlines()[0].rstrip(".")
            if doc and not handler.description:
                operation["description"] = inspect.cleandoc(doc)
    return document


class OpenJsonRenderPlugin(JsonRenderPlugin):
    """The JSON document, with the open operations marked."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, mark_open_operations(request.app, openapi_schema))


class OpenYamlRenderPlugin(YamlRenderPlugin):
    """The YAML document, with the open operations marked."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, mark_open_operations(request.app, openapi_schema))


def handler_function(route_handler: Any) -> Any:
    """The function a handler was written as (Litestar may wrap a sync one in AsyncCallable)."""
    fn: Any = route_handler.fn
    while hasattr(fn, "func") and not hasattr(fn, "__code__"):
        fn = fn.func
    return fn


def operation_id(
    route_handler: HTTPRouteHandler,
    http_method: Method,
    path_components: list[str | PathParameterDefinition],
) -> str:
    """An operation id a generated client can use as a method name: the handler's own name.

    ``read_record`` becomes ``readRecord``; a handler serving several methods gets the
    method as a prefix. The path is left out (handler names are unique in the vault,
    and a test checks that the ids are).
    """
    name: str = handler_function(route_handler).__name__
    words = name.strip("_").split("_")
    if len(route_handler.http_methods) > 1:
        words = [str(http_method).lower(), *words]
    return words[0] + "".join(word.title() for word in words[1:])
