"""The compliance dashboard (``/dashboard``): only a compliance officer's cookie session opens it.

Accesses per day as a server-drawn SVG chart, break-glass events awaiting
review, the chain's verification status with the newest checkpoint, filters
over the log and exports of the filtered events (CSV, JSON Lines).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import PathParameter, QueryParameter
from litestar.response import Redirect, Stream, Template
from markupsafe import Markup

from vault.audit.events import AuditEvent, Outcome
from vault.audit.queries import csv_lines, jsonl_lines
from vault.errors import VaultError
from vault.vocabulary import Action, Principal, Role
from vault.web import dashboard_data as data_
from vault.web.chart import access_chart
from vault.web.common import (
    DASHBOARD_COOKIE,
    LOGIN_CSRF_COOKIE,
    SECURITY_HEADERS,
    WEB_OPT,
    csrf_ok,
    expired_cookie,
    new_login_csrf,
    redirect,
    render,
    services_of,
    session_cookie,
    staff_login,
    threaded,
    web_sessions,
)
from vault.web.i18n import messages
from vault.web.kiosk import FormData, LangQuery
from vault.web.sessions import ActiveSession, SessionKind

DASHBOARD_ROLES = frozenset({Role.COMPLIANCE_OFFICER.value})
Text = Annotated[str | None, QueryParameter(required=False, max_length=64)]


def _session(request: Request[Any, Any, Any]) -> ActiveSession | None:
    session = web_sessions(services_of(request)).resolve(
        request.cookies.get(DASHBOARD_COOKIE), SessionKind.DASHBOARD
    )
    # The role is checked on every request, not only at login.
    if session is None or session.role not in DASHBOARD_ROLES:
        return None
    return session


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


@get(
    "/dashboard/login",
    opt={**WEB_OPT, "asks_nothing": "the login form: shows nothing"},
    sync_to_thread=False,
    include_in_schema=False,
)
def dashboard_login_page(request: Request[Any, Any, Any], lang: LangQuery = None) -> Template:
    return _login_page(request, lang or "en")


@post("/dashboard/login", opt=WEB_OPT, include_in_schema=False)
@threaded
def dashboard_login(
    request: Request[Any, Any, Any], data: FormData, lang: LangQuery = None
) -> Template | Redirect:
    lang = lang or "en"
    outcome = staff_login(request, data, Action.OPEN_DASHBOARD)
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


def _principal(session: ActiveSession) -> Principal:
    return Principal(id=session.user_id, role=Role(session.role), organization=session.organization)


def _audit_view(
    request: Request[Any, Any, Any], session: ActiveSession, action: str, flt: data_.EventFilter
) -> None:
    services_of(request).audit.append(
        AuditEvent(
            action=action,
            outcome=Outcome.ALLOW,
            actor_id=session.user_id,
            actor_role=session.role,
            actor_org=session.organization,
            subject_id=flt.subject_id,
            details={"via": "dashboard"},
        )
    )


@get("/dashboard", opt=WEB_OPT, include_in_schema=False)
@threaded
def dashboard(
    request: Request[Any, Any, Any],
    subject: Text = None,
    actor: Text = None,
    action: Text = None,
    decision: Text = None,
    since: Text = None,
    until: Text = None,
) -> Template | Redirect:
    session = _session(request)
    if session is None:
        return _to_login(request)
    services = services_of(request)
    t = messages(session.language)
    flt, problems = _filter(subject, actor, action, decision, since, until)
    _audit_view(request, session, "audit.query", flt)
    chart = access_chart(
        data_.accesses_per_day(services, services.clock().date()),
        allowed_label=t["allowed"],
        denied_label=t["denied"],
        title=t["accesses_per_day"],
    )
    return render(
        "dashboard/index.html",
        session.language,
        session=session,
        title=t["dashboard"],
        chart=Markup(chart),  # built from numbers and escaped text only (vault.web.chart)  # noqa: S704
        status=data_.chain_status(services),
        consent_mismatches=data_.consent_mismatches(services),
        access_mismatches=data_.access_mismatches(services),
        queue=data_.break_glass_awaiting_review(services, _principal(session)),
        events=data_.events(services, flt),
        flt=flt,
        query=flt.query_string(),
        problems=problems,
    )


@get("/dashboard/export", opt=WEB_OPT, include_in_schema=False)
@threaded
def dashboard_export(
    request: Request[Any, Any, Any],
    format: Annotated[str, QueryParameter(pattern="^(csv|jsonl)$")] = "csv",
    subject: Text = None,
    actor: Text = None,
    action: Text = None,
    decision: Text = None,
    since: Text = None,
    until: Text = None,
) -> Stream | Redirect | Response[str]:
    session = _session(request)
    if session is None:
        return _to_login(request)
    flt, problems = _filter(subject, actor, action, decision, since, until)
    if problems:
        return Response(
            "invalid filter: " + ", ".join(problems),
            status_code=422,
            media_type="text/plain",
            headers=SECURITY_HEADERS,
        )
    _audit_view(request, session, "audit.export", flt)
    export_format = format
    rows = data_.iter_events(services_of(request), flt)
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


@post("/dashboard/logout", opt=WEB_OPT, include_in_schema=False)
@threaded
def dashboard_logout(request: Request[Any, Any, Any], data: FormData) -> Redirect | Template:
    session = _session(request)
    if session is None:
        return _to_login(request)
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
) -> Redirect | Template | Response[str]:
    """Mark a break-glass grant justified or unjustified (the access service audits it)."""
    session = _session(request)
    if session is None:
        return _to_login(request)
    if not csrf_ok(session.csrf_token, data.get("csrf_token")):
        return Response(
            messages(session.language)["csrf_failed"],
            status_code=403,
            media_type="text/plain",
            headers=SECURITY_HEADERS,
        )
    outcome = str(data.get("outcome", ""))[:16]
    try:
        services_of(request).access.review_break_glass(_principal(session), grant_id, outcome, None)
    except VaultError as exc:
        return Response(
            exc.detail, status_code=exc.status, media_type="text/plain", headers=SECURITY_HEADERS
        )
    return redirect("/dashboard")
