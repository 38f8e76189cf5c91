"""HTTP API of the audit log (compliance officers) and a subject's disclosures.

Every route asks the policy engine (``audit.read`` with the organisation it
would show, ``policies/audit.cedar``) before it reads anything, and shows only
what belongs to the caller's organisation (``vault.audit.scope``). Reading the
audit log is itself audited (``audit.query``, ``audit.export``, ...), allowed or
refused, and that event is durable before any answer leaves.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.params import PathParameter, QueryParameter
from litestar.response import Stream

from vault.access.engine import PolicyEngine
from vault.access.integrity import check_access_against_audit
from vault.audit.answers import (
    AccessCheckOut,
    AccessMismatchOut,
    ConsentCheckOut,
    ConsentMismatchOut,
    DisclosuresOut,
    EventPageOut,
    VerifyOut,
)
from vault.audit.checkpoints import to_jsonl
from vault.audit.events import AuditEvent, Outcome
from vault.audit.incremental import verify_from_head
from vault.audit.log import AuditLog
from vault.audit.proofs import proofs_of
from vault.audit.queries import (
    DEFAULT_PAGE,
    MAX_PAGE,
    AuditFilters,
    AuditQueries,
    csv_lines,
    jsonl_lines,
)
from vault.audit.scope import consents_of, held_subjects, subject_org
from vault.consent.integrity import check_consents_against_audit
from vault.crypto.signing_keys import CurrentSigner
from vault.db import Database
from vault.errors import AuditUnavailable, Forbidden, InvalidInput, NotFound
from vault.http.auth import caller
from vault.http.problems import problem_responses
from vault.vocabulary import Action, AuthenticatedUser, EventAction, OperationFacts

ERRORS = problem_responses(Forbidden, InvalidInput, AuditUnavailable)
# A path whose subject id is not a UUID matches no route: 404.
SUBJECT_ERRORS = problem_responses(Forbidden, InvalidInput, AuditUnavailable, NotFound)
TAGS = ["audit"]
# The services a handler asks for by name (``vault.app.service_dependencies``).
Policy = NamedDependency[PolicyEngine]
Log = NamedDependency[AuditLog]
Store = NamedDependency[Database]
Signing = NamedDependency[CurrentSigner]
Clock = NamedDependency[Callable[[], datetime]]
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


def _gate(
    request: Request[Any, Any, Any],
    policy: PolicyEngine,
    audit: AuditLog,
    action: EventAction,
    *,
    target_org: str | None,
    subject_id: uuid.UUID | None = None,
    **details: str | int | bool | None,
) -> AuthenticatedUser:
    """Ask ``audit.read`` for ``target_org``; audit the attempt either way; the caller if allowed.

    A refusal is 403, except about a subject the caller's organisation does not
    hold: that answers exactly like a subject that does not exist (404).
    """
    user = caller(request)
    decision = policy.authorize(
        user.principal(), Action.READ_AUDIT, OperationFacts(target_org=target_org)
    )
    audit.append(
        AuditEvent.by(
            user,
            action,
            Outcome.ALLOW if decision.allowed else Outcome.DENY,
            subject_id=subject_id,
            policy_ids=decision.policy_ids,
            reason=None if decision.allowed else decision.reason,
            details={key: value for key, value in details.items() if value is not None},
        )
    )
    if decision.allowed:
        return user
    if subject_id is not None and target_org != user.organization:
        raise NotFound("No such subject.")
    raise Forbidden(decision.reason)


def _filters(
    organization: str,
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
        organization=organization,
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
    policy: Policy,
    audit: Log,
    db: Store,
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
    """A page of the organisation's audit events in sequence order; follow ``next_cursor``."""
    organization = caller(request).organization
    # Filters are checked before the gate: a malformed one is a 4xx, and nothing is read.
    filters = _filters(
        organization,
        subject_id,
        actor_id,
        action,
        decision,
        break_glass,
        since,
        until,
        limit,
        cursor,
    )
    _gate(
        request,
        policy,
        audit,
        EventAction.AUDIT_QUERY,
        target_org=organization,
        subject_id=subject_id,
    )
    page = AuditQueries(db).events(filters)
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
    policy: Policy,
    audit: Log,
    db: Store,
    export_format: Annotated[Literal["csv", "jsonl"], QueryParameter(name="format")] = "jsonl",
    subject_id: SubjectParam = None,
    actor_id: ActorParam = None,
    action: ActionParam = None,
    decision: DecisionParam = None,
    break_glass: BreakGlassParam = None,
    since: SinceParam = None,
    until: UntilParam = None,
) -> Stream:
    """Every matching event of the organisation, streamed as CSV or JSON Lines."""
    organization = caller(request).organization
    filters = _filters(
        organization, subject_id, actor_id, action, decision, break_glass, since, until
    )
    _gate(
        request,
        policy,
        audit,
        EventAction.AUDIT_EXPORT,
        target_org=organization,
        subject_id=subject_id,
        format=export_format,
    )
    events = AuditQueries(db).iter_events(filters)
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
def audit_checkpoints(
    request: Request[Any, Any, Any], policy: Policy, audit: Log, db: Store
) -> Stream:
    """Every signed checkpoint as JSON Lines, to be kept outside the vault and pinned.

    A checkpoint names a sequence number and a hash: nothing of any event's content.
    """
    organization = caller(request).organization
    _gate(request, policy, audit, EventAction.AUDIT_CHECKPOINTS, target_org=organization)
    checkpoints = AuditQueries(db).checkpoints()
    return Stream(
        to_jsonl(checkpoints),
        media_type=JSONL,
        headers={"Content-Disposition": 'attachment; filename="audit-checkpoints.jsonl"'},
    )


@get("/v1/audit/verify", sync_to_thread=True, responses=ERRORS, tags=TAGS)
def audit_verify(
    request: Request[Any, Any, Any],
    policy: Policy,
    audit: Log,
    db: Store,
    signer: Signing,
    full: Annotated[bool, QueryParameter(name="full", required=False)] = False,
) -> VerifyOut:
    """Verify the chain from the last verified signed head (``full=true``: all of it).

    ``first_seq``..``events`` is the range walked, on from the signed head of
    size ``from_head``; ``first_bad_seq`` names where it breaks. The answer holds
    counts, sequence numbers and what kind of break it is: nothing of any
    event's content, whichever organisation it belongs to.
    """
    organization = caller(request).organization
    _gate(request, policy, audit, EventAction.AUDIT_VERIFY, target_org=organization, full=full)
    report = verify_from_head(
        db.engine, audit.heads(), public_keys=signer.verification_keys(), full=full
    )
    return VerifyOut(
        ok=report.ok,
        events=report.events,
        checkpoints=report.checkpoints,
        first_bad_seq=report.first_bad_seq,
        problem=report.problem,
        first_seq=report.first_seq,
        from_head=report.from_head,
        full=report.full,
    )


@get("/v1/audit/consent-check", sync_to_thread=True, responses=ERRORS, tags=TAGS)
def audit_consent_check(
    request: Request[Any, Any, Any], policy: Policy, audit: Log, db: Store
) -> ConsentCheckOut:
    """Compare the consent tables with the audit log (what `vault consent check` does).

    Names every consent of the organisation's subjects whose rows say other than
    the log: a deleted withdrawal, a refusal turned into a grant, an inserted
    consent, a changed recipient or expiry. Reads already refuse such grants;
    this tells whoever must find out who changed them.
    """
    organization = caller(request).organization
    _gate(request, policy, audit, EventAction.AUDIT_CONSENT_CHECK, target_org=organization)
    found = check_consents_against_audit(db)
    ours = consents_of(db, organization, {m.consent_id for m in found})
    mismatches = [m for m in found if m.consent_id in ours]
    return ConsentCheckOut(
        ok=not mismatches,
        mismatches=[ConsentMismatchOut(m.consent_id, m.seq, m.problem) for m in mismatches],
    )


@get("/v1/audit/access-check", sync_to_thread=True, responses=ERRORS, tags=TAGS)
def audit_access_check(
    request: Request[Any, Any, Any],
    policy: Policy,
    audit: Log,
    db: Store,
    clock: Clock,
) -> AccessCheckOut:
    """Active assignments and break-glass grants the audit log does not attest.

    Decisions already ignore them; this names those about the organisation's
    subjects so that someone finds out who wrote them into the database.
    """
    organization = caller(request).organization
    _gate(request, policy, audit, EventAction.AUDIT_ACCESS_CHECK, target_org=organization)
    found = check_access_against_audit(db, clock())
    ours = held_subjects(db, organization, {m.subject_id for m in found})
    return AccessCheckOut(
        ok=not any(m.subject_id in ours for m in found),
        mismatches=[
            AccessMismatchOut(_access_kind(m.kind), m.row_id, m.subject_id, m.problem)
            for m in found
            if m.subject_id in ours
        ],
    )


def _access_kind(kind: str) -> Literal["assignment", "break_glass"]:
    if kind == "assignment":
        return "assignment"
    return "break_glass"


@get(
    "/v1/subjects/{subject_id:uuid}/disclosures",
    sync_to_thread=True,
    responses=SUBJECT_ERRORS,
    tags=TAGS,
)
def subject_disclosures(
    request: Request[Any, Any, Any],
    policy: Policy,
    audit: Log,
    db: Store,
    subject_id: Annotated[uuid.UUID, PathParameter()],
) -> DisclosuresOut:
    """Accounting of disclosures: who read which categories of the subject's records,
    when, for which purpose, under which consent or break-glass grant.

    ``proofs`` holds the newest signed tree head and each read's inclusion proof,
    as ``tools/verify_log.py`` reads them. Only for the organisation holding the
    subject; any other answers as if the subject did not exist."""
    holder = subject_org(db, subject_id)
    _gate(
        request,
        policy,
        audit,
        EventAction.AUDIT_DISCLOSURES,
        target_org=holder,
        subject_id=subject_id,
    )
    disclosures = AuditQueries(db).disclosures(subject_id)
    proofs = proofs_of(audit, [int(d["seq"]) for d in disclosures])
    return DisclosuresOut(subject_id=subject_id, disclosures=disclosures, proofs=proofs)


AUDIT_HANDLERS = [
    audit_events,
    audit_export,
    audit_checkpoints,
    audit_verify,
    audit_consent_check,
    audit_access_check,
    subject_disclosures,
]
