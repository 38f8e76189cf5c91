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


class DecisionMarker:
    """Whether the policy engine was asked during this request (one per request)."""

    __slots__ = ("asked",)

    def __init__(self) -> None:
        self.asked = False


# A mutable marker rather than a bool: a sync handler runs in a worker thread with a
# copy of the context, and a flag set there must still be seen by the request's middleware.
_decision: ContextVar[DecisionMarker | None] = ContextVar("vault_decision", default=None)


def start_decision_tracking() -> DecisionMarker:
    """Begin a request: the returned marker says, at its end, whether anything was decided."""
    marker = DecisionMarker()
    _decision.set(marker)
    return marker


def note_decision() -> None:
    """Called by the policy engine on every decision (``decide`` and ``authorize``)."""
    marker = _decision.get()
    if marker is not None:
        marker.asked = True


def new_request_id() -> str:
    return secrets.token_hex(8)


def set_current(info: RequestInfo) -> object:
    return _current.set(info)


def reset_current(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]  # the Token set_current returned


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
