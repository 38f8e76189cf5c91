"""One place that turns exceptions into ``application/problem+json`` (RFC 9457).

The domain raises :mod:`vault.errors`; Litestar raises its own HTTP and
validation exceptions; anything else is a 500 that names only the request id.
No message text of an unexpected exception ever reaches the client.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import ResponseSpec
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from vault.errors import AuthenticationFailed, RateLimited, VaultError
from vault.requestctx import current_request_id

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://vault.example/problems/"

log = logging.getLogger("vault.http")

_HTTP_TITLES = {
    400: ("bad-request", "The request is malformed"),
    401: ("unauthenticated", "Authentication required"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("conflict", "Conflict with the current state"),
    413: ("payload-too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("invalid-input", "The request is not valid"),
    429: ("rate-limited", "Too many attempts"),
}


class Problem(msgspec.Struct):
    """An RFC 9457 problem, as documented in the OpenAPI schema."""

    type: str
    title: str
    status: int
    detail: str | None = None
    request_id: str | None = None


def problem_responses(*errors: type[VaultError]) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the vault errors a handler can raise (``responses=`` of a route)."""
    specs: dict[int, ResponseSpec] = {}
    documented: tuple[type[VaultError], ...] = (*errors, AuthenticationFailed)
    # 400 is what Litestar's own validation gives (malformed JSON, a bad parameter);
    # it is a problem too, and Litestar would otherwise document it as plain JSON.
    titles = [(400, _HTTP_TITLES[400][1])] + [(e.status, e.title) for e in documented]
    for status, title in titles:
        specs.setdefault(
            status,
            ResponseSpec(
                data_container=Problem,
                description=title,
                media_type=PROBLEM_MEDIA_TYPE,
                generate_examples=False,
            ),
        )
    return specs


def problem(
    status: int,
    slug: str,
    title: str,
    detail: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {"type": PROBLEM_TYPE_BASE + slug, "title": title, "status": status}
    if detail and detail.casefold() != title.casefold():
        body["detail"] = detail
    request_id = current_request_id()
    if request_id:
        body["request_id"] = request_id
    body.update(extra)
    return Response(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def vault_error_handler(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    if not isinstance(exc, VaultError):  # registered for VaultError only
        return unexpected_error_handler(_, exc)
    headers = None
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(exc.retry_after)}
    if exc.status >= 500:
        log.error("%s: %s", type(exc).__name__, exc.title)
    return problem(exc.status, exc.slug, exc.title, exc.detail, headers, **exc.extra)


def validation_error_handler(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    if not isinstance(exc, ValidationException):  # registered for it only
        return unexpected_error_handler(_, exc)
    errors = []
    # Litestar's validation extra names the offending field and message; keep the
    # location and message only, never the submitted value (it may be a secret).
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            errors.append(
                {"key": str(item.get("key", "")), "message": str(item.get("message", ""))}
            )
    status = exc.status_code if exc.status_code in (400, 422) else 400
    return problem(
        status,
        "invalid-input",
        "The request is not valid",
        _validation_summary(errors) or "The request body or parameters do not match the schema.",
        errors=errors,
    )


def _validation_summary(errors: list[dict[str, str]]) -> str:
    return "; ".join(f"{e['key'] or 'body'}: {e['message']}" for e in errors)[:500]


def http_error_handler(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    if not isinstance(exc, HTTPException):  # registered for it only
        return unexpected_error_handler(_, exc)
    slug, title = _HTTP_TITLES.get(exc.status_code, ("http-error", "Request failed"))
    headers = dict(exc.headers or {})
    detail = exc.detail if exc.status_code < 500 else None
    return problem(exc.status_code, slug, title, detail, headers or None)


def unexpected_error_handler(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    # The type name only: messages of unexpected errors may quote data.
    log.error("unexpected %s", type(exc).__name__)
    return problem(
        HTTP_500_INTERNAL_SERVER_ERROR,
        "internal",
        "Internal error",
        "Something went wrong. Quote the request id when reporting it.",
    )


def malformed_body_handler(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    # Litestar turns msgspec's DecodeError into a 400, but the decoder raises these two
    # itself: RecursionError for JSON nested thousands deep, UnicodeDecodeError for bytes
    # that are not UTF-8. Both are the client's malformed body, not the vault's failure.
    log.warning("malformed request body: %s", type(exc).__name__)
    return problem(
        400,
        "bad-request",
        _HTTP_TITLES[400][1],
        "The body is not valid JSON: not UTF-8, or nested too deeply.",
    )


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    VaultError: vault_error_handler,
    ValidationException: validation_error_handler,
    HTTPException: http_error_handler,
    RecursionError: malformed_body_handler,
    UnicodeDecodeError: malformed_body_handler,
    Exception: unexpected_error_handler,
}
