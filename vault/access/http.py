"""HTTP API of care-team assignments and break-glass grants."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from vault.access.break_glass import BreakGlassView
from vault.access.service import AccessService
from vault.errors import Conflict, Forbidden, InvalidInput, NotFound, RateLimited
from vault.http.auth import caller
from vault.http.problems import problem_responses


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


class OpenerOut(msgspec.Struct):
    user_id: uuid.UUID
    username: str
    role: str
    grants: int
    unjustified: int


class LiftedOut(msgspec.Struct):
    user_id: uuid.UUID
    grants: int


def _out(view: BreakGlassView) -> BreakGlassOut:
    return BreakGlassOut(**{name: getattr(view, name) for name in BreakGlassOut.__struct_fields__})


@post(
    "/v1/assignments",
    sync_to_thread=True,
    status_code=HTTP_201_CREATED,
    tags=["assignments"],
    responses=problem_responses(Forbidden, NotFound, InvalidInput, Conflict),
)
def create_assignment(
    request: Request[Any, Any, Any],
    access: NamedDependency[AccessService],
    data: JSONBody[AssignmentIn],
) -> IdOut:
    """Put a staff member who reads content on a subject's care team (policy
    ``ops.manage-assignments``: an admin or officer, for their own organisation's staff)."""
    assignment_id = access.assign(caller(request).principal(), data.user_id, data.subject_id)
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
    access: NamedDependency[AccessService],
    assignment_id: Annotated[uuid.UUID, Parameter(description="assignment id")],
) -> None:
    """End an assignment; it stops counting on the very next request."""
    access.end_assignment(caller(request).principal(), assignment_id)


@post(
    "/v1/subjects/{subject_id:uuid}/break-glass",
    sync_to_thread=True,
    status_code=HTTP_201_CREATED,
    tags=["break-glass"],
    responses=problem_responses(Forbidden, NotFound, InvalidInput, Conflict, RateLimited),
)
def open_break_glass(
    request: Request[Any, Any, Any],
    access: NamedDependency[AccessService],
    subject_id: Annotated[uuid.UUID, Parameter(description="subject id")],
    data: JSONBody[BreakGlassIn],
) -> BreakGlassOpened:
    """Open emergency access to a subject (counselor, health officer); reads then use
    purpose=emergency until it expires; a compliance officer reviews it. One open grant
    per person and subject, none while blocked by an unjustified review, a daily cap."""
    view = access.open_break_glass(caller(request).principal(), subject_id, data.justification)
    return BreakGlassOpened(id=view.id, expires_at=view.expires_at)


@get(
    "/v1/break-glass",
    sync_to_thread=True,
    tags=["break-glass"],
    responses=problem_responses(Forbidden),
)
def list_break_glass(
    request: Request[Any, Any, Any],
    access: NamedDependency[AccessService],
    pending: Annotated[
        bool, Parameter(description="only grants not yet reviewed", required=False)
    ] = False,
) -> list[BreakGlassOut]:
    """Break-glass grants of the caller's organisation, for review (compliance officer)."""
    views = access.break_glass_grants(caller(request).principal(), pending=pending)
    return [_out(view) for view in views]


@get(
    "/v1/break-glass/openers",
    sync_to_thread=True,
    tags=["break-glass"],
    responses=problem_responses(Forbidden),
)
def break_glass_openers(
    request: Request[Any, Any, Any], access: NamedDependency[AccessService]
) -> list[OpenerOut]:
    """Who of the caller's organisation opened break-glass grants in the last 30 days,
    most grants first (compliance officer)."""
    openers = access.break_glass_openers(caller(request).principal())
    return [
        OpenerOut(
            user_id=o.user_id,
            username=o.username,
            role=o.role,
            grants=o.grants,
            unjustified=o.unjustified,
        )
        for o in openers
    ]


@post(
    "/v1/break-glass/{grant_id:uuid}/review",
    sync_to_thread=True,
    status_code=HTTP_200_OK,
    tags=["break-glass"],
    responses=problem_responses(Forbidden, NotFound, InvalidInput, Conflict),
)
def review_break_glass(
    request: Request[Any, Any, Any],
    access: NamedDependency[AccessService],
    grant_id: Annotated[uuid.UUID, Parameter(description="break-glass grant id")],
    data: JSONBody[ReviewIn],
) -> BreakGlassOut:
    """Record a compliance officer's verdict on another person's grant of their organisation;
    an unjustified grant ends at once and blocks its holder from opening another."""
    view = access.review_break_glass(caller(request).principal(), grant_id, data.outcome, data.note)
    return _out(view)


@post(
    "/v1/break-glass/blocks/{user_id:uuid}/lift",
    sync_to_thread=True,
    status_code=HTTP_200_OK,
    tags=["break-glass"],
    responses=problem_responses(Forbidden, NotFound, Conflict),
)
def lift_break_glass_block(
    request: Request[Any, Any, Any],
    access: NamedDependency[AccessService],
    user_id: Annotated[uuid.UUID, Parameter(description="the blocked person's user id")],
) -> LiftedOut:
    """Let a person of the caller's organisation, blocked by an unjustified review, open
    break-glass grants again (compliance officer, not the person nor their creator)."""
    grants = access.lift_break_glass_block(caller(request).principal(), user_id)
    return LiftedOut(user_id=user_id, grants=grants)


HANDLERS = [
    create_assignment,
    end_assignment,
    open_break_glass,
    list_break_glass,
    break_glass_openers,
    review_break_glass,
    lift_break_glass_block,
]
