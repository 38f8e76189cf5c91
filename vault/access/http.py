"""HTTP API of care-team assignments and break-glass grants."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, delete, get, post
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from vault.access.service import BreakGlassView
from vault.errors import Conflict, Forbidden, InvalidInput, NotFound
from vault.http.guards import require_roles
from vault.http.problems import problem_responses
from vault.services import Services
from vault.vocabulary import Role


class AssignmentIn(msgspec.Struct, forbid_unknown_fields=True):
    user_id: uuid.UUID
    subject_id: uuid.UUID


class IdOut(msgspec.Struct):
    id: uuid.UUID


class BreakGlassIn(msgspec.Struct, forbid_unknown_fields=True):
    justification: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]

    def __repr__(self) -> str:  # may mention health facts
        return "BreakGlassIn(<redacted>)"


class BreakGlassOpened(msgspec.Struct):
    id: uuid.UUID
    expires_at: datetime


class BreakGlassOut(msgspec.Struct):
    id: uuid.UUID
    user_id: uuid.UUID
    subject_id: uuid.UUID
    justification: str
    opened_at: datetime
    expires_at: datetime
    reviewed_at: datetime | None
    reviewer_id: uuid.UUID | None
    outcome: str | None


class ReviewIn(msgspec.Struct, forbid_unknown_fields=True):
    outcome: Literal["justified", "unjustified"]
    note: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


def _services(request: Request[Any, Any, Any]) -> Services:
    services: Services = request.app.state.services
    return services


def _out(view: BreakGlassView) -> BreakGlassOut:
    return BreakGlassOut(**{name: getattr(view, name) for name in BreakGlassOut.__struct_fields__})


@post(
    "/v1/assignments",
    sync_to_thread=True,
    status_code=HTTP_201_CREATED,
    tags=["assignments"],
    responses=problem_responses(Forbidden, NotFound, InvalidInput, Conflict),
)
def create_assignment(request: Request[Any, Any, Any], data: JSONBody[AssignmentIn]) -> IdOut:
    """Put a staff member on a subject's care team (admin or officer of its organisation)."""
    actor = require_roles(request, Role.ADMIN, Role.OFFICER)
    assignment_id = _services(request).access.assign(
        actor.principal(), data.user_id, data.subject_id
    )
    return IdOut(id=assignment_id)


@delete(
    "/v1/assignments/{assignment_id:uuid}",
    sync_to_thread=True,
    status_code=HTTP_204_NO_CONTENT,
    tags=["assignments"],
    responses=problem_responses(Forbidden, NotFound),
)
def end_assignment(
    request: Request[Any, Any, Any],
    assignment_id: Annotated[uuid.UUID, Parameter(description="assignment id")],
) -> None:
    """End an assignment; it stops counting on the very next request."""
    actor = require_roles(request, Role.ADMIN, Role.OFFICER)
    _services(request).access.end_assignment(actor.principal(), assignment_id)


@post(
    "/v1/subjects/{subject_id:uuid}/break-glass",
    sync_to_thread=True,
    status_code=HTTP_201_CREATED,
    tags=["break-glass"],
    responses=problem_responses(Forbidden, NotFound, InvalidInput),
)
def open_break_glass(
    request: Request[Any, Any, Any],
    subject_id: Annotated[uuid.UUID, Parameter(description="subject id")],
    data: JSONBody[BreakGlassIn],
) -> BreakGlassOpened:
    """Open emergency access to a subject (counselor, health officer); reads then use
    purpose=emergency until it expires; a compliance officer reviews it."""
    actor = require_roles(request, Role.COUNSELOR, Role.HEALTH_OFFICER)
    view = _services(request).access.open_break_glass(
        actor.principal(), subject_id, data.justification
    )
    return BreakGlassOpened(id=view.id, expires_at=view.expires_at)


@get(
    "/v1/break-glass",
    sync_to_thread=True,
    tags=["break-glass"],
    responses=problem_responses(Forbidden),
)
def list_break_glass(
    request: Request[Any, Any, Any],
    pending: Annotated[
        bool, Parameter(description="only grants not yet reviewed", required=False)
    ] = False,
) -> list[BreakGlassOut]:
    """Break-glass grants for compliance review (compliance officer)."""
    actor = require_roles(request, Role.COMPLIANCE_OFFICER)
    views = _services(request).access.break_glass_grants(actor.principal(), pending=pending)
    return [_out(view) for view in views]


@post(
    "/v1/break-glass/{grant_id:uuid}/review",
    sync_to_thread=True,
    status_code=HTTP_200_OK,
    tags=["break-glass"],
    responses=problem_responses(Forbidden, NotFound, InvalidInput, Conflict),
)
def review_break_glass(
    request: Request[Any, Any, Any],
    grant_id: Annotated[uuid.UUID, Parameter(description="break-glass grant id")],
    data: JSONBody[ReviewIn],
) -> BreakGlassOut:
    """Record a compliance officer's verdict; an unjustified grant ends at once."""
    actor = require_roles(request, Role.COMPLIANCE_OFFICER)
    view = _services(request).access.review_break_glass(
        actor.principal(), grant_id, data.outcome, data.note
    )
    return _out(view)


HANDLERS = [
    create_assignment,
    end_assignment,
    open_break_glass,
    list_break_glass,
    review_break_glass,
]
