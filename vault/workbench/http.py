"""HTTP API of the alerts (``GET /v1/audit/alerts``, acknowledging one) and of the access
review (``GET /v1/audit/access-review``, confirming or ending one item).

Listing asks ``audit.read`` for the caller's organisation, acknowledging asks
``audit.alert_acknowledge`` (``policies/audit.cedar``); both are audited,
allowed or refused, before anything is answered. Only the caller's
organisation's alerts are computed; another organisation's alert id answers
404 like one that never existed. The review's list asks ``audit.read`` (audited,
allowed or refused); a decision asks ``access_review.confirm`` or
``access_review.end`` in ``AccessReview.decide``, then the ordinary operation
that ends the access; another organisation's item answers 404.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter

from vault.access.engine import PolicyEngine
from vault.access.service import AccessService
from vault.audit.alert_store import acknowledge, newest_alerts
from vault.audit.alerts import rules_from
from vault.audit.events import AuditEvent, Outcome
from vault.audit.log import AuditLog
from vault.config import Settings
from vault.db import Database
from vault.errors import AuditUnavailable, Conflict, Forbidden, InvalidInput, NotFound
from vault.http.auth import caller
from vault.http.problems import problem_responses
from vault.identity.service import IdentityService
from vault.vocabulary import Action, EventAction, OperationFacts
from vault.workbench.review import AccessReview, ReviewItem

__all__ = ["ALERT_HANDLERS"]

ERRORS = problem_responses(Forbidden, InvalidInput, AuditUnavailable, NotFound)
TAGS = ["audit"]
Policy = NamedDependency[PolicyEngine]
Log = NamedDependency[AuditLog]
Store = NamedDependency[Database]
Config = NamedDependency[Settings]
Clock = NamedDependency[Callable[[], datetime]]
AlertId = Annotated[str, PathParameter(max_length=24, pattern=r"^[0-9a-f]{24}$")]
Identity = NamedDependency[IdentityService]
Access = NamedDependency[AccessService]
Kind = Annotated[str, PathParameter(pattern="^(account|assignment)$")]
PageNumber = Annotated[int, QueryParameter(ge=1, le=1_000_000)]
AlertLimit = Annotated[int, QueryParameter(ge=1, le=1000)]
REVIEW_ERRORS = problem_responses(Forbidden, InvalidInput, AuditUnavailable, NotFound, Conflict)


class AcknowledgeIn(msgspec.Struct, forbid_unknown_fields=True):
    note: Annotated[str, msgspec.Meta(max_length=500)] | None = None


def _ask(
    request: Request[Any, Any, Any],
    policy: PolicyEngine,
    audit: AuditLog,
    action: Action,
    event: EventAction,
) -> None:
    user = caller(request)
    facts = OperationFacts(target_org=user.organization)
    decision = policy.authorize(user.principal(), action, facts)
    if not decision.allowed:
        audit.append(
            AuditEvent.by(
                user, event, Outcome.DENY, policy_ids=decision.policy_ids, reason=decision.reason
            )
        )
        raise Forbidden(decision.reason)


@get("/v1/audit/alerts", sync_to_thread=True, responses=ERRORS, tags=TAGS)
def audit_alerts(
    request: Request[Any, Any, Any],
    policy: Policy,
    audit: Log,
    db: Store,
    settings: Config,
    clock: Clock,
    limit: AlertLimit = 100,
) -> dict[str, Any]:
    """The newest ``limit`` alerts of the caller's organisation over the rules' window,
    newest first, with how many the window holds (``total``) and how many are open."""
    _ask(request, policy, audit, Action.READ_AUDIT, EventAction.AUDIT_ALERTS)
    user = caller(request)
    audit.append(AuditEvent.by(user, EventAction.AUDIT_ALERTS, Outcome.ALLOW))
    found = newest_alerts(db, user.organization, rules_from(settings), clock(), limit)
    return {
        "alerts": [a.to_json() for a in found.alerts],
        "open": found.open,
        "total": found.total,
    }


@post(
    "/v1/audit/alerts/{alert_id:str}/acknowledge",
    sync_to_thread=True,
    responses=ERRORS,
    tags=TAGS,
    status_code=200,
)
def audit_alert_acknowledge(
    request: Request[Any, Any, Any],
    alert_id: AlertId,
    data: JSONBody[AcknowledgeIn],
    policy: Policy,
    audit: Log,
    db: Store,
    settings: Config,
    clock: Clock,
) -> dict[str, Any]:
    """Acknowledge one alert with a note (audited as ``audit.alert_acknowledge``)."""
    _ask(request, policy, audit, Action.ACKNOWLEDGE_ALERT, EventAction.AUDIT_ALERT_ACKNOWLEDGE)
    officer = caller(request).principal()
    rules = rules_from(settings)
    done = acknowledge(db, audit, policy, officer, alert_id, data.note, rules, clock())
    return done.to_json()


class DecisionIn(msgspec.Struct, forbid_unknown_fields=True):
    decision: Literal["confirm", "end"]


def _json(item: ReviewItem) -> dict[str, Any]:
    return {
        "kind": item.kind,
        "id": str(item.target_id),
        "user_id": str(item.user_id),
        "username": item.username,
        "role": item.role,
        "subject_id": str(item.subject_id) if item.subject_id else None,
        "since": item.since.isoformat(),
        "confirmed_at": item.confirmed_at.isoformat() if item.confirmed_at else None,
        "overdue": item.overdue,
    }


@get("/v1/audit/access-review", sync_to_thread=True, responses=ERRORS, tags=TAGS)
def access_review_list(
    request: Request[Any, Any, Any],
    policy: Policy,
    audit: Log,
    db: Store,
    settings: Config,
    clock: Clock,
    identity: Identity,
    access: Access,
    page: PageNumber = 1,
) -> dict[str, Any]:
    """One page of the active accounts and care-team assignments of the caller's
    organisation to review, overdue ones first (``page`` from 1; past the last, the last)."""
    user = caller(request)
    facts = OperationFacts(target_org=user.organization)
    decision = policy.authorize(user.principal(), Action.READ_AUDIT, facts)
    outcome = Outcome.ALLOW if decision.allowed else Outcome.DENY
    audit.append(
        AuditEvent.by(
            user,
            EventAction.AUDIT_QUERY,
            outcome,
            policy_ids=decision.policy_ids,
            details={"via": "access_review"},
        )
    )
    if not decision.allowed:
        raise Forbidden(decision.reason)
    days = settings.access_review_days
    review = AccessReview(db, audit, policy, identity, access, clock, days)
    shown = review.page(user.principal(), page, settings.access_review_page_size)
    return {
        "days": days,
        "overdue": shown.overdue,
        "items": [_json(i) for i in shown.items],
        "page": shown.number,
        "page_size": shown.size,
        "pages": shown.pages,
        "total": shown.total,
        "previous_page": shown.previous,
        "next_page": shown.next,
    }


@post(
    "/v1/audit/access-review/{kind:str}/{target_id:uuid}",
    sync_to_thread=True,
    responses=REVIEW_ERRORS,
    tags=TAGS,
    status_code=200,
)
def access_review_decide(
    request: Request[Any, Any, Any],
    kind: Kind,
    target_id: Annotated[uuid.UUID, PathParameter()],
    data: JSONBody[DecisionIn],
    policy: Policy,
    audit: Log,
    db: Store,
    settings: Config,
    clock: Clock,
    identity: Identity,
    access: Access,
) -> dict[str, Any]:
    """Confirm or end one account or assignment (audited as ``access_review.confirm``/``end``)."""
    review = AccessReview(db, audit, policy, identity, access, clock, settings.access_review_days)
    review.decide(caller(request), kind, target_id, data.decision)
    return {"kind": kind, "id": str(target_id), "decision": data.decision}


ALERT_HANDLERS = [audit_alerts, audit_alert_acknowledge, access_review_list, access_review_decide]
