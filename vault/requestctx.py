"""Per-request context (request id, client address) carried in context variables.

Context variables follow a request into the worker thread of a sync handler,
so log lines and audit events can name the request without passing it around.
"""

from __future__ import annotations

import logging
import secrets
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestInfo:
    request_id: str
    client_addr: str | None


_current: ContextVar[RequestInfo | None] = ContextVar("vault_request", default=None)


def new_request_id() -> str:
    return secrets.token_hex(8)


def set_current(info: RequestInfo) -> object:
    return _current.set(info)


def reset_current(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]


def current() -> RequestInfo | None:
    return _current.get()


def current_request_id() -> str | None:
    info = _current.get()
    return info.request_id if info else None


class RequestIdLogFilter(logging.Filter):
    """Adds ``request_id`` to every log record ("-" outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or "-"
        return True
