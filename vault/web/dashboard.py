"""The compliance dashboard (``/dashboard``): a compliance officer's view of their organisation.

Accesses per day as a server-drawn SVG chart, break-glass grants awaiting
review with their justifications, who opens most break-glass grants, the
chain's verification status with the newest checkpoint, filters over the log
and exports of the filtered events (CSV, JSON Lines) -- all of them only what
belongs to the officer's organisation (``vault.audit.scope``).

Who may open it is the policies' decision (``dashboard.open``, then
``audit.read`` for what a page shows, ``policies/audit.cedar``), asked at
login and again on every request with the account as the identity service
knows it now: a role or organisation remembered in the browser session is
never trusted.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter
from litestar.response import Redirect, Stream, Template
from markupsafe import Markup

from vault.access.engine import PolicyEngine
from vault.access.service import AccessService
from vault.audit.alert_store import newest_alerts
from vault.audit.alerts import Alert, rules_from
from vault.audit.events import AuditEvent, Outcome
from vault.audit.log import AuditLog
from vault.audit.queries import csv_lines, jsonl_lines
from vault.audit.scope import grant_of
from vault.config import Settings
from vault.db import Database
from vault.errors import NotFound, VaultError
from vault.identity.service import IdentityService
from vault.vocabulary import Action, EventAction
from vault.web import dashboard_data as data_
from vault.web.chart import access_chart
from vault.web.common import (
    DASHBOARD_COOKIE,
    LOGIN_CSRF_COOKIE,
    SECURITY_HEADERS,
    WEB_OPT,
    check_staff_login,
    csrf_ok,
    expired_cookie,
    new_login_csrf,
    redirect,
    render,
    services_of,
    session_cookie,
    threaded,
    web_sessions,
)
from vault.web.dashboard_access import Viewer, may_read, viewer_of
from vault.web.dashboard_names import user_named, usernames
from vault.web.dashboard_review import review_of
from vault.web.i18n import language_or_default, messages
from vault.web.kiosk import FormData, LangQuery
from vault.web.sessions import SessionKind

Text = Annotated[str | None, QueryParameter(required=False, max_length=64)]
# The services a page asks for by name (``vault.app.service_dependencies``).
Identity = NamedDependency[IdentityService]
Policy = NamedDependency[PolicyEngine]
Log = NamedDependency[AuditLog]
Store = NamedDependency[Database]
Access = NamedDependency[AccessService]
Clock = NamedDependency[Callable[[], datetime]]
Config = NamedDependency[Settings]
NOBODY = str(uuid.UUID(int=0))  # the actor id no account has
ALERTS_SHOWN = 50  # the newest alerts on the overview; GET /v1/audit/alerts pages the rest
# Routes open to anyone, each with the reason (``vault.http.gate``).
LOGIN_PAGE_OPT = {**WEB_OPT, "asks_nothing": "the login form, shown to anyone"}
LOGIN_OPT = {
    **WEB_OPT,
    "asks_nothing": "the login itself; dashboard.open is asked once the account is known",
}
LOGOUT_OPT = {**WEB_OPT, "asks_nothing": "ending one's own session releases nothing"}


def _refused(viewer: Viewer) -> Response[str]:
    return Response(
        messages(viewer.session.language)["login_role_refused"],
        status_code=403,
        media_type="text/plain",
        headers=SECURITY_HEADERS,
    )


def _to_login(request: Request[Any, Any, Any]) -> Redirect:
    cookies = (
        [expired_cookie(request, DASHBOARD_COOKIE)] if request.cookies.get(DASHBOARD_COOKIE) else []
    )
    return redirect("/dashboard/login", cookies=cookies)


def _login_page(
    request: Request[Any, Any, Any], lang: str | None, error: str | None = None, status: int = 200
) -> Template:
    token = new_login_csrf()
    return render(
        "dashboard/login.html",
        lang,
        csrf_token=token,
        title=messages(lang)["dashboard_login_title"],
        action="/dashboard/login",
        with_totp=True,
        error=error,
        status_code=status,
        cookies=[session_cookie(request, LOGIN_CSRF_COOKIE, token)],
    )


@get("/dashboard/login", opt=LOGIN_PAGE_OPT, sync_to_thread=False, include_in_schema=False)
def dashboard_login_page(request: Request[Any, Any, Any], lang: LangQuery = None) -> Template:
    return _login_page(request, language_or_default(lang))


@post("/dashboard/login", opt=LOGIN_OPT, include_in_schema=False)
@threaded
def dashboard_login(
    request: Request[Any, Any, Any],
    data: FormData,
    identity: Identity,
    policy: Policy,
    lang: LangQuery = None,
) -> Template | Redirect:
    lang = language_or_default(lang)
    outcome = check_staff_login(identity, policy, request, data, Action.OPEN_DASHBOARD)
    if isinstance(outcome, str):
        status = 403 if outcome in ("csrf_failed", "login_role_refused") else 401
        return _login_page(request, lang, messages(lang)[outcome], status)
    cookie_value, _ = web_sessions(services_of(request)).open(
        SessionKind.DASHBOARD, outcome, language=lang
    )
    return redirect(
        "/dashboard",
        cookies=[
            session_cookie(request, DASHBOARD_COOKIE, cookie_value),
            expired_cookie(request, LOGIN_CSRF_COOKIE),
        ],
    )


def _filter(
    subject: str | None,
    actor: str | None,
    action: str | None,
    decision: str | None,
    since: str | None,
    until: str | None,
) -> tuple[data_.EventFilter, list[str]]:
    """The filters of the form; empty fields are no filter, malformed ones are named."""
    problems: list[str] = []

    def as_date(value: str | None, name: str) -> date | None:
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            problems.append(name)
            return None

    def as_uuid(value: str | None, name: str) -> uuid.UUID | None:
        if not value:
            return None
        try:
            return uuid.UUID(value)
        except ValueError:
            problems.append(name)
            return None

    if decision and decision not in data_.DECISIONS:
        problems.append("decision")
        decision = None
    return data_.EventFilter(
        subject_id=as_uuid(subject, "subject"),
        actor_id=as_uuid(actor, "actor"),
        action=action or None,
        decision=decision or None,
        since=as_date(since, "since"),
        until=as_date(until, "until"),
    ), problems


def _person(db: Database, organization: str, person: str | None) -> str | None:
    """The id (as text) of the organisation's account named ``person``, or None."""
    if not person:
        return None
    found = user_named(db, organization, person)
    return None if found is None else str(found)


def _alert_actors(alerts: list[Alert]) -> set[str]:
    return {a.actor_id for a in alerts if a.actor_id}


def _audit_view(
    audit: AuditLog, viewer: Viewer, action: EventAction, flt: data_.EventFilter
) -> None:
    audit.append(
        AuditEvent.by(
            viewer.principal,
            action,
            Outcome.ALLOW,
            subject_id=flt.subject_id,
            details={"via": "dashboard"},
        )
    )


@get("/dashboard", opt=WEB_OPT, include_in_schema=False)
@threaded
def dashboard(
    request: Request[Any, Any, Any],
    identity: Identity,
    policy: Policy,
    audit: Log,
    db: Store,
    access: Access,
    clock: Clock,
    settings: Config,
    subject: Text = None,
    actor: Text = None,
    person: Text = None,
    action: Text = None,
    decision: Text = None,
    since: Text = None,
    until: Text = None,
    notfound: Text = None,
) -> Template | Redirect | Response[str]:
    viewer = viewer_of(request, identity, policy)
    if viewer is None:
        return _to_login(request)
    if not may_read(policy, viewer):
        # Who opens the dashboard without audit.read (an evaluator) has the statistics.
        return redirect("/dashboard/statistics")
    session, organization = viewer.session, viewer.principal.organization
    t = messages(session.language)
    named = _person(db, organization, person)
    # An unknown username (or another organisation's) matches no one, not everyone.
    actor = named or (NOBODY if person else actor)
    flt, problems = _filter(subject, actor, action, decision, since, until)
    if person and named is None:
        problems.append(t["username"])
    _audit_view(audit, viewer, EventAction.AUDIT_QUERY, flt)
    now = clock()
    events = data_.events(db, organization, flt)
    # Before the alerts: the first look finding overdue items records the alert's event.
    overdue = review_of(db, audit, policy, identity, access, clock, settings).overdue(
        viewer.principal
    )
    found = newest_alerts(db, organization, rules_from(settings), now, ALERTS_SHOWN)
    alerts = found.alerts
    days = data_.accesses_per_day(db, organization, now.date())
    chart = access_chart(
        days,
        allowed_label=t["allowed"],
        denied_label=t["denied"],
        title=t["accesses_per_day"],
    )
    return render(
        "dashboard/index.html",
        session.language,
        session=session,
        title=t["dashboard"],
        chart=Markup(chart),  # noqa: S704  (built from numbers and escaped text only, vault.web.chart)
        status=data_.chain_status(db),
        witness_gap=data_.witness_gap(audit, settings, now),
        alerts=alerts,
        alert_counts=found,
        review_overdue=overdue,
        days=days,
        consent_mismatches=data_.consent_mismatches(db, organization),
        access_mismatches=data_.access_mismatches(db, organization, now),
        queue=data_.break_glass_awaiting_review(access, db, viewer.principal),
        openers=access.break_glass_openers(viewer.principal),
        events=events,
        names=usernames(db, {e.get("actor_id") for e in events} | _alert_actors(alerts)),
        person=person or "",
        notfound=bool(notfound),
        flt=flt,
        query=flt.query_string(),
        problems=problems,
    )


@get("/dashboard/export", opt=WEB_OPT, include_in_schema=False)
@threaded
def dashboard_export(
    request: Request[Any, Any, Any],
    identity: Identity,
    policy: Policy,
    audit: Log,
    db: Store,
    format: Annotated[str, QueryParameter(pattern="^(csv|jsonl)$")] = "csv",
    subject: Text = None,
    actor: Text = None,
    action: Text = None,
    decision: Text = None,
    since: Text = None,
    until: Text = None,
) -> Stream | Redirect | Response[str]:
    viewer = viewer_of(request, identity, policy)
    if viewer is None:
        return _to_login(request)
    if not may_read(policy, viewer):
        return _refused(viewer)
    flt, problems = _filter(subject, actor, action, decision, since, until)
    if problems:
        return Response(
            "invalid filter: " + ", ".join(problems),
            status_code=422,
            media_type="text/plain",
            headers=SECURITY_HEADERS,
        )
    _audit_view(audit, viewer, EventAction.AUDIT_EXPORT, flt)
    export_format = format
    rows = data_.iter_events(db, viewer.principal.organization, flt)
    lines = csv_lines(rows) if export_format == "csv" else jsonl_lines(rows)
    media = "text/csv" if export_format == "csv" else "application/x-ndjson"
    return Stream(
        lines,
        media_type=media,
        headers={
            **SECURITY_HEADERS,
            "Content-Disposition": f'attachment; filename="audit-events.{export_format}"',
        },
    )


@post("/dashboard/logout", opt=LOGOUT_OPT, include_in_schema=False)
@threaded
def dashboard_logout(
    request: Request[Any, Any, Any], data: FormData, identity: Identity, policy: Policy
) -> Redirect | Template:
    viewer = viewer_of(request, identity, policy)
    if viewer is None:
        return _to_login(request)
    session = viewer.session
    if not csrf_ok(session.csrf_token, data.get("csrf_token")):
        return _login_page(
            request, session.language, messages(session.language)["csrf_failed"], 403
        )
    web_sessions(services_of(request)).end(session.id)
    return redirect("/dashboard/login", cookies=[expired_cookie(request, DASHBOARD_COOKIE)])


@post(
    "/dashboard/break-glass/{grant_id:uuid}/review",
    opt=WEB_OPT,
    include_in_schema=False,
)
@threaded
def dashboard_review(
    request: Request[Any, Any, Any],
    grant_id: Annotated[uuid.UUID, PathParameter()],
    data: FormData,
    identity: Identity,
    policy: Policy,
    access: Access,
    db: Store,
) -> Redirect | Template | Response[str]:
    """Mark a break-glass grant justified or unjustified (the access service decides and audits)."""
    viewer = viewer_of(request, identity, policy)
    if viewer is None:
        return _to_login(request)
    session = viewer.session
    if not csrf_ok(session.csrf_token, data.get("csrf_token")):
        return Response(
            messages(session.language)["csrf_failed"],
            status_code=403,
            media_type="text/plain",
            headers=SECURITY_HEADERS,
        )
    outcome = str(data.get("outcome", ""))[:16]
    try:
        # Another organisation's grant is answered as one that does not exist.
        if not grant_of(db, viewer.principal.organization, grant_id):
            raise NotFound("No such break-glass grant.")
        access.review_break_glass(viewer.principal, grant_id, outcome, None)
    except VaultError as exc:
        return Response(
            exc.detail, status_code=exc.status, media_type="text/plain", headers=SECURITY_HEADERS
        )
    return redirect("/dashboard")
