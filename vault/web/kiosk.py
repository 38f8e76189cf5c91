"""The consent kiosk: staff open a signing session for one subject and hand over the tablet.

Routes under ``/kiosk``. No URL carries a subject id: the kiosk session is
bound to its subject on the server, so nothing of another subject can be named,
let alone reached. Consent ids in URLs are looked up within that subject only.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, QueryParameter
from litestar.response import Redirect, Template

from vault.audit.events import AuditEvent, Outcome
from vault.errors import AuthenticationFailed, RateLimited
from vault.vocabulary import Role
from vault.web import kiosk_port as port
from vault.web.common import (
    KIOSK_COOKIE,
    LOGIN_CSRF_COOKIE,
    WEB_OPT,
    csrf_ok,
    expired_cookie,
    field,
    new_login_csrf,
    redirect,
    render,
    services_of,
    session_cookie,
    threaded,
    web_sessions,
)
from vault.web.i18n import LANGUAGES, language_or_default, messages
from vault.web.sessions import ActiveSession, SessionKind, StaffIdentity

KIOSK_ROLES = frozenset({Role.OFFICER.value, Role.COUNSELOR.value})
FormData = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
Page = Template | Redirect | Response[Any]
LangQuery = Annotated[str | None, QueryParameter(required=False, max_length=8)]


def _session(request: Request[Any, Any, Any], *kinds: SessionKind) -> ActiveSession | None:
    return web_sessions(services_of(request)).resolve(request.cookies.get(KIOSK_COOKIE), *kinds)


def _to_login(request: Request[Any, Any, Any]) -> Redirect:
    """Back to the start; the stale cookie is dropped so an expired tablet holds nothing."""
    had_cookie = bool(request.cookies.get(KIOSK_COOKIE))
    cookies = [expired_cookie(request, KIOSK_COOKIE)] if had_cookie else []
    return redirect("/kiosk/ended?expired=1" if had_cookie else "/kiosk/login", cookies=cookies)


def _audit(request: Request[Any, Any, Any], session: ActiveSession, action: str) -> None:
    services_of(request).audit.append(
        AuditEvent(
            action=action,
            outcome=Outcome.INFO,
            actor_id=session.user_id,
            actor_role=session.role,
            actor_org=session.organization,
            subject_id=session.subject_id,
            target_id=session.id,
        )
    )


# ------------------------------------------------------------------ staff: log in, open


@get("/kiosk", opt=WEB_OPT, include_in_schema=False)
@threaded
def kiosk_root(request: Request[Any, Any, Any]) -> Redirect:
    session = _session(request, SessionKind.KIOSK, SessionKind.STAFF)
    if session is None:
        return _to_login(request)
    return redirect("/kiosk/home" if session.kind is SessionKind.KIOSK else "/kiosk/start")


@get("/kiosk/login", opt=WEB_OPT, sync_to_thread=False, include_in_schema=False)
def kiosk_login_page(request: Request[Any, Any, Any], lang: LangQuery = None) -> Template:
    token = new_login_csrf()
    return render(
        "kiosk/login.html",
        lang,
        csrf_token=token,
        title=messages(lang)["staff_login_title"],
        action="/kiosk/login",
        cookies=[session_cookie(request, LOGIN_CSRF_COOKIE, token)],
    )


def staff_login(
    request: Request[Any, Any, Any], data: dict[str, Any], roles: frozenset[str]
) -> StaffIdentity | str:
    """Check a login form; the staff member, or the message key of the failure."""
    if not csrf_ok(request.cookies.get(LOGIN_CSRF_COOKIE), data.get("csrf_token")):
        return "csrf_failed"
    username = field(data, "username", 64)
    password = field(data, "password", 1024)
    code = field(data, "totp", 16) or None
    if not username or not password:
        return "login_failed"
    try:
        # The identity service counts failures and audits the login; the bearer
        # token it issues is discarded unused (the browser gets a cookie session).
        issued = services_of(request).identity.login(username, password, code)
    except RateLimited:
        return "too_many_attempts"
    except AuthenticationFailed:
        return "login_failed"
    user = issued.user
    if user.role not in roles:
        return "login_role_refused"
    return StaffIdentity(
        id=user.id, username=user.username, role=user.role, organization=user.organization
    )


@post("/kiosk/login", opt=WEB_OPT, include_in_schema=False)
@threaded
def kiosk_login(request: Request[Any, Any, Any], data: FormData, lang: LangQuery = None) -> Page:
    outcome = staff_login(request, data, KIOSK_ROLES)
    if isinstance(outcome, str):
        token = new_login_csrf()
        return render(
            "kiosk/login.html",
            lang,
            csrf_token=token,
            title=messages(lang)["staff_login_title"],
            action="/kiosk/login",
            error=messages(lang)[outcome],
            status_code=403 if outcome in ("csrf_failed", "login_role_refused") else 401,
            cookies=[session_cookie(request, LOGIN_CSRF_COOKIE, token)],
        )
    cookie_value, _ = web_sessions(services_of(request)).open(
        SessionKind.STAFF, outcome, language=language_or_default(lang)
    )
    return redirect(
        "/kiosk/start",
        cookies=[
            session_cookie(request, KIOSK_COOKIE, cookie_value),
            expired_cookie(request, LOGIN_CSRF_COOKIE),
        ],
    )


def _start_page(session: ActiveSession, error: str | None = None, status: int = 200) -> Template:
    t = messages(session.language)
    return render(
        "kiosk/start.html",
        session.language,
        session=session,
        title=t["start_title"],
        error=error,
        status_code=status,
    )


@get("/kiosk/start", opt=WEB_OPT, include_in_schema=False)
@threaded
def kiosk_start_page(request: Request[Any, Any, Any]) -> Page:
    session = _session(request, SessionKind.STAFF)
    if session is None:
        return _to_login(request)
    return _start_page(session)


@post("/kiosk/start", opt=WEB_OPT, include_in_schema=False)
@threaded
def kiosk_start(request: Request[Any, Any, Any], data: FormData) -> Page:
    services = services_of(request)
    staff = _session(request, SessionKind.STAFF)
    if staff is None:
        return _to_login(request)
    t = messages(staff.language)
    if not csrf_ok(staff.csrf_token, data.get("csrf_token")):
        return _start_page(staff, t["csrf_failed"], 403)
    try:
        subject_id = uuid.UUID(field(data, "subject_id", 64))
    except ValueError:
        return _start_page(staff, t["subject_not_found"], 404)
    if not port.live_subject(services, subject_id, staff.organization):
        return _start_page(staff, t["subject_not_found"], 404)
    sentra = field(data, "sentra", 64)
    language = language_or_default(field(data, "language", 8))
    sessions = web_sessions(services)
    witness = StaffIdentity(staff.user_id, staff.username, staff.role, staff.organization)
    # The staff session ends here: the tablet from now on holds only the subject's session.
    sessions.end(staff.id)
    cookie_value, kiosk = sessions.open(
        SessionKind.KIOSK, witness, subject_id=subject_id, language=language
    )
    if sentra:
        sessions.update(kiosk.id, flow={"sentra": sentra})
    _audit(request, kiosk, "kiosk.open")
    return redirect("/kiosk/home", cookies=[session_cookie(request, KIOSK_COOKIE, cookie_value)])


# ------------------------------------------------------------------ the subject's pages


def _kiosk(request: Request[Any, Any, Any]) -> ActiveSession | None:
    return _session(request, SessionKind.KIOSK)


@get("/kiosk/home", opt=WEB_OPT, include_in_schema=False)
@threaded
def kiosk_home(request: Request[Any, Any, Any]) -> Page:
    session = _kiosk(request)
    if session is None:
        return _to_login(request)
    return render(
        "kiosk/home.html",
        session.language,
        session=session,
        title=messages(session.language)["home_title"],
        forms=port.forms(services_of(request)),
    )


@post("/kiosk/language", opt=WEB_OPT, include_in_schema=False)
@threaded
def kiosk_language(request: Request[Any, Any, Any], data: FormData) -> Page:
    session = _session(request, SessionKind.KIOSK, SessionKind.STAFF)
    if session is None:
        return _to_login(request)
    if not csrf_ok(session.csrf_token, data.get("csrf_token")):
        return render(
            "kiosk/message.html",
            session.language,
            session=session,
            title=messages(session.language)["csrf_failed"],
            status_code=403,
        )
    wanted = field(data, "language", 8)
    if wanted in LANGUAGES:
        web_sessions(services_of(request)).update(session.id, language=wanted)
    back = field(data, "next", 200)
    # Only a path of this kiosk, never another site.
    if not back.startswith("/kiosk/") or "//" in back or "\\" in back:
        back = "/kiosk"
    return redirect(back)


@post("/kiosk/end", opt=WEB_OPT, include_in_schema=False)
@threaded
def kiosk_end(request: Request[Any, Any, Any], data: FormData) -> Page:
    session = _session(request, SessionKind.KIOSK, SessionKind.STAFF)
    if session is None:
        return _to_login(request)
    if not csrf_ok(session.csrf_token, data.get("csrf_token")):
        return render(
            "kiosk/message.html",
            session.language,
            session=session,
            title=messages(session.language)["csrf_failed"],
            status_code=403,
        )
    web_sessions(services_of(request)).end(session.id)
    if session.kind is SessionKind.KIOSK:
        _audit(request, session, "kiosk.end")
    return redirect(
        f"/kiosk/ended?lang={session.language}", cookies=[expired_cookie(request, KIOSK_COOKIE)]
    )


@get("/kiosk/ended", opt=WEB_OPT, sync_to_thread=False, include_in_schema=False)
def kiosk_ended(
    request: Request[Any, Any, Any],
    lang: LangQuery = None,
    expired: Annotated[int, QueryParameter(required=False, ge=0, le=1)] = 0,
) -> Template:
    t = messages(lang)
    return render(
        "kiosk/message.html",
        lang,
        title=t["ended_title"],
        message=t["expired_intro"] if expired else t["ended_intro"],
        cookies=[expired_cookie(request, KIOSK_COOKIE)],
    )
