"""HTTP API of the audit log (compliance officers) and a subject's disclosures.

Reading the audit log is itself audited (``audit.query``, ``audit.export``,
``audit.verify``, ``audit.disclosures``), and that event is durable before any
answer leaves, like every other disclosure.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, get
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.params import PathParameter, QueryParameter
from litestar.response import Stream

from vault.access.integrity import check_access_against_audit
from vault.audit.checkpoints import to_jsonl
from vault.audit.events import AuditEvent, Outcome
from vault.audit.queries import (
    DEFAULT_PAGE,
    MAX_PAGE,
    AuditFilters,
    AuditQueries,
    csv_lines,
    jsonl_lines,
)
from vault.audit.verify import verify_chain
from vault.consent.integrity import check_consents_against_audit
from vault.errors import AuditUnavailable, Forbidden, InvalidInput, NotFound
from vault.http.guards import require_roles
from vault.http.problems import problem_responses
from vault.services import Services
from vault.vocabulary import AuthenticatedUser, Role

ERRORS = problem_responses(Forbidden, InvalidInput, AuditUnavailable)
# A path whose subject id is not a UUID matches no route: 404.
SUBJECT_ERRORS = problem_responses(Forbidden, InvalidInput, AuditUnavailable, NotFound)
TAGS = ["audit"]
CSV = "text/csv"
JSONL = "application/x-ndjson"


def _streamed(*media_types: str) -> type[Operation]:
    """An OpenAPI operation whose 200 is a text file of these types (Litestar says JSON)."""

    @dataclass
    class StreamedOperation(Operation):
        def __post_init__(self) -> None:
            ok = (self.responses or {}).get("200")
            if isinstance(ok, OpenAPIResponse):
                text = Schema(type=OpenAPIType.STRING)
                ok.content = {media: OpenAPIMediaType(schema=text) for media in media_types}

    return StreamedOperation


SubjectParam = Annotated[uuid.UUID | None, QueryParameter(name="subject_id", required=False)]
ActorParam = Annotated[uuid.UUID | None, QueryParameter(name="actor_id", required=False)]
ActionParam = Annotated[
    str | None,
    QueryParameter(name="action", required=False, max_length=64, pattern=r"^[a-z0-9_.-]+$"),
]
DecisionParam = Annotated[
    Literal["allow", "deny", "info", "error"] | None,
    QueryParameter(name="decision", required=False),
]
BreakGlassParam = Annotated[bool | None, QueryParameter(name="break_glass", required=False)]
SinceParam = Annotated[
    datetime | None, QueryParameter(name="since", required=False, description="inclusive, ISO 8601")
]
UntilParam = Annotated[
    datetime | None, QueryParameter(name="until", required=False, description="exclusive, ISO 8601")
]
LimitParam = Annotated[int, QueryParameter(name="limit", ge=1, le=MAX_PAGE)]
CursorParam = Annotated[
    str | None, QueryParameter(name="cursor", required=False, max_length=20, pattern=r"^[0-9]+$")
]


class EventPageOut(msgspec.Struct):
    events: list[dict[str, Any]]
    next_cursor: str | None


class VerifyOut(msgspec.Struct):
    ok: bool
    events: int
    checkpoints: int
    first_bad_seq: int | None
    problem: str | None


class ConsentMismatchOut(msgspec.Struct):
    consent_id: uuid.UUID
    seq: int  # the audit event the tables contradict; 0 when the signing's events are missing
    problem: str


class ConsentCheckOut(msgspec.Struct):
    ok: bool
    mismatches: list[ConsentMismatchOut]


class AccessMismatchOut(msgspec.Struct):
    kind: Literal["assignment", "break_glass"]
    id: uuid.UUID
    subject_id: uuid.UUID
    problem: str


class AccessCheckOut(msgspec.Struct):
    ok: bool
    mismatches: list[AccessMismatchOut]


class DisclosuresOut(msgspec.Struct):
    subject_id: uuid.UUID
    disclosures: list[dict[str, Any]]


def _services(request: Request[Any, Any, Any]) -> Services:
    services: Services = request.app.state.services
    return services


def _record_access(
    services: Services,
    user: AuthenticatedUser,
    action: str,
    subject_id: uuid.UUID | None = None,
    **details: str | int | bool | None,
) -> None:
    services.audit.append(
        AuditEvent(
            action=action,
            outcome=Outcome.ALLOW,
            actor_id=user.id,
            actor_role=user.role,
            actor_org=user.organization,
            subject_id=subject_id,
            details={key: value for key, value in details.items() if value is not None},
        )
    )


def _filters(
    subject_id: uuid.UUID | None,
    actor_id: uuid.UUID | None,
    action: str | None,
    decision: str | None,
    break_glass: bool | None,
    since: datetime | None,
    until: datetime | None,
    limit: int = DEFAULT_PAGE,
    cursor: str | None = None,
) -> AuditFilters:
    return AuditFilters(
        subject_id=subject_id,
        actor_id=actor_id,
        action=action,
        decision=Outcome(decision) if decision is not None else None,
        break_glass=break_glass,
        since=since,
        until=until,
        limit=limit,
        cursor=AuditFilters.parse_cursor(cursor),
    )


@get("/v1/audit/events", sync_to_thread=True, responses=ERRORS, tags=TAGS)
def audit_events(
    request: Request[Any, Any, Any],
    subject_id: SubjectParam = None,
    actor_id: ActorParam = None,
    action: ActionParam = None,
    decision: DecisionParam = None,
    break_glass: BreakGlassParam = None,
    since: SinceParam = None,
    until: UntilParam = None,
    limit: LimitParam = DEFAULT_PAGE,
    cursor: CursorParam = None,
) -> EventPageOut:
    """A page of audit events in sequence order; follow ``next_cursor`` for the next one."""
    user = require_roles(request, Role.COMPLIANCE_OFFICER)
    filters = _filters(
        subject_id, actor_id, action, decision, break_glass, since, until, limit, cursor
    )
    services = _services(request)
    _record_access(services, user, "audit.query", subject_id)
    page = AuditQueries(services.db).events(filters)
    return EventPageOut(events=page.events, next_cursor=page.next_cursor)


@get(
    "/v1/audit/export",
    sync_to_thread=True,
    responses=ERRORS,
    tags=TAGS,
    operation_class=_streamed(CSV, JSONL),
)
def audit_export(
    request: Request[Any, Any, Any],
    export_format: Annotated[Literal["csv", "jsonl"], QueryParameter(name="format")] = "jsonl",
    subject_id: SubjectParam = None,
    actor_id: ActorParam = None,
    action: ActionParam = None,
    decision: DecisionParam = None,
    break_glass: BreakGlassParam = None,
    since: SinceParam = None,
    until: UntilParam = None,
) -> Stream:
    """Every matching event, streamed as CSV or JSON Lines."""
    user = require_roles(request, Role.COMPLIANCE_OFFICER)
    filters = _filters(subject_id, actor_id, action, decision, break_glass, since, until)
    services = _services(request)
    _record_access(services, user, "audit.export", subject_id, format=export_format)
    events = AuditQueries(services.db).iter_events(filters)
    lines: Iterator[str] = csv_lines(events) if export_format == "csv" else jsonl_lines(events)
    media_type = f"{CSV}; charset=utf-8" if export_format == "csv" else JSONL
    return Stream(
        lines,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="audit-events.{export_format}"'},
    )


@get(
    "/v1/audit/checkpoints",
    sync_to_thread=True,
    responses=ERRORS,
    tags=TAGS,
    operation_class=_streamed(JSONL),
)
def audit_checkpoints(request: Request[Any, Any, Any]) -> Stream:
    """Every signed checkpoint as JSON Lines, to be kept outside the vault and pinned."""
    user = require_roles(request, Role.COMPLIANCE_OFFICER)
    services = _services(request)
    _record_access(services, user, "audit.checkpoints")
    checkpoints = AuditQueries(services.db).checkpoints()
    return Stream(
        to_jsonl(checkpoints),
        media_type=JSONL,
        headers={"Content-Disposition": 'attachment; filename="audit-checkpoints.jsonl"'},
    )


@get("/v1/audit/verify", sync_to_thread=True, responses=ERRORS, tags=TAGS)
def audit_verify(request: Request[Any, Any, Any]) -> VerifyOut:
    """Verify the whole chain and every checkpoint; ``first_bad_seq`` names where it breaks."""
    user = require_roles(request, Role.COMPLIANCE_OFFICER)
    services = _services(request)
    _record_access(services, user, "audit.verify")
    report = verify_chain(services.db.engine, public_keys=services.signer.verification_keys())
    return VerifyOut(
        ok=report.ok,
        events=report.events,
        checkpoints=report.checkpoints,
        first_bad_seq=report.first_bad_seq,
        problem=report.problem,
    )


@get("/v1/audit/consent-check", sync_to_thread=True, responses=ERRORS, tags=TAGS)
def audit_consent_check(request: Request[Any, Any, Any]) -> ConsentCheckOut:
    """Compare the consent tables with the audit log (what `vault consent check` does).

    Names every consent whose rows say other than the log: a deleted withdrawal, a
    refusal turned into a grant, an inserted consent, a changed recipient or expiry.
    Reads already refuse such grants; this tells whoever must find out who changed them.
    """
    user = require_roles(request, Role.COMPLIANCE_OFFICER)
    services = _services(request)
    _record_access(services, user, "audit.consent_check")
    found = check_consents_against_audit(services.db)
    return ConsentCheckOut(
        ok=not found,
        mismatches=[ConsentMismatchOut(m.consent_id, m.seq, m.problem) for m in found],
    )


@get("/v1/audit/access-check", sync_to_thread=True, responses=ERRORS, tags=TAGS)
def audit_access_check(request: Request[Any, Any, Any]) -> AccessCheckOut:
    """Active assignments and break-glass grants the audit log does not attest.

    Decisions already ignore them; this names them (with their subject) so that
    someone finds out who wrote them into the database.
    """
    user = require_roles(request, Role.COMPLIANCE_OFFICER)
    services = _services(request)
    _record_access(services, user, "audit.access_check")
    found = check_access_against_audit(services.db, services.clock())
    return AccessCheckOut(
        ok=not found,
        mismatches=[
            AccessMismatchOut(m.kind, m.row_id, m.subject_id, m.problem)  # type: ignore[arg-type]
            for m in found
        ],
    )


@get(
    "/v1/subjects/{subject_id:uuid}/disclosures",
    sync_to_thread=True,
    responses=SUBJECT_ERRORS,
    tags=TAGS,
)
def subject_disclosures(
    request: Request[Any, Any, Any], subject_id: Annotated[uuid.UUID, PathParameter()]
) -> DisclosuresOut:
    """Accounting of disclosures: who read which categories of the subject's records,
    when, for which purpose, under which consent or break-glass grant."""
    user = require_roles(request, Role.COMPLIANCE_OFFICER)
    services = _services(request)
    _record_access(services, user, "audit.disclosures", subject_id)
    disclosures = AuditQueries(services.db).disclosures(subject_id)
    return DisclosuresOut(subject_id=subject_id, disclosures=disclosures)


AUDIT_HANDLERS = [
    audit_events,
    audit_export,
    audit_checkpoints,
    audit_verify,
    audit_consent_check,
    audit_access_check,
    subject_disclosures,
]
