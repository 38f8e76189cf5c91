"""Plumbing shared by the kiosk and the dashboard: cookies, CSRF, rendering, headers.

Every page handler is excluded from the bearer-token middleware and checks its
own cookie session instead (``WEB_OPT``). Forms carry a per-session CSRF token
compared with ``hmac.compare_digest``; the login forms, which have no session
yet, use a double-submit cookie.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, ParamSpec, TypeVar

import anyio.to_thread
from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from vault.access.engine import PolicyEngine
from vault.audit.events import AuditSink
from vault.config import Settings
from vault.crypto.columns import ColumnSealer
from vault.db import Database
from vault.errors import AuthenticationFailed, RateLimited
from vault.identity.service import IdentityService
from vault.services import Services
from vault.vocabulary import Action, OperationFacts, Principal, Role
from vault.web.i18n import LANGUAGE_NAMES, LANGUAGES, language_or_default, messages
from vault.web.sessions import ActiveSession, SessionKind, StaffIdentity, WebSessions

# Handlers of the web pages: no bearer token; the cookie session is checked in the handler.
WEB_OPT: dict[str, Any] = {"exclude_from_auth": True}
KIOSK_COOKIE = "vault_kiosk"
DASHBOARD_COOKIE = "vault_dashboard"
LOGIN_CSRF_COOKIE = "vault_login_csrf"
CSRF_FIELD = "csrf_token"
P = ParamSpec("P")
R = TypeVar("R")
MAX_FIELD_CHARS = 500

# Pages hold personal data: never cached, never framed, nothing loaded from elsewhere.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}


def services_of(request: Request[Any, Any, Any]) -> Services:
    services: Services = request.app.state.services
    return services


def web_sessions(services: Services) -> WebSessions:
    return sessions_over(
        services.db, services.clock, services.settings, services.sealer, services.audit
    )


def sessions_over(
    db: Database,
    clock: Callable[[], datetime],
    settings: Settings,
    sealer: ColumnSealer,
    audit: AuditSink,
) -> WebSessions:
    return WebSessions(
        db,
        clock,
        {
            SessionKind.STAFF: settings.kiosk_idle_seconds,
            SessionKind.KIOSK: settings.kiosk_idle_seconds,
            SessionKind.DASHBOARD: settings.dashboard_idle_seconds,
        },
        sealer,
        settings.web_session_max_seconds,
        audit,
        timedelta(seconds=settings.token_ttl_seconds),
    )


def may_open(policy: PolicyEngine, principal: Principal, action: Action) -> bool:
    """Whether the policies let ``principal`` use a web area (``kiosk.open``,
    ``dashboard.open``) in their own organisation."""
    facts = OperationFacts(target_org=principal.organization)
    return policy.authorize(principal, action, facts).allowed


def check_staff_login(
    identity: IdentityService,
    policy: PolicyEngine,
    request: Request[Any, Any, Any],
    data: Mapping[str, Any],
    action: Action,
) -> StaffIdentity | str:
    """Check a login form for a web area; the staff member, or the message key of the failure.

    The password (and second factor) is checked by the identity service, which
    counts failures and audits the login; then the policy engine decides whether
    this staff member may use the area at all (``action``).
    """
    if not csrf_ok(request.cookies.get(LOGIN_CSRF_COOKIE), data.get("csrf_token")):
        return "csrf_failed"
    username = field(data, "username", 64)
    password = field(data, "password", 1024)
    code = field(data, "totp", 16) or None
    if not username or not password:
        return "login_failed"
    try:
        # The bearer token it issues is discarded unused (the browser gets a cookie session).
        issued = identity.login(username, password, code)
    except RateLimited:
        return "too_many_attempts"
    except AuthenticationFailed:
        return "login_failed"
    user = issued.user
    staff = StaffIdentity(
        id=user.id, username=user.username, role=user.role, organization=user.organization
    )
    if not may_open(policy, Principal(staff.id, Role(staff.role), staff.organization), action):
        return "login_role_refused"
    return staff


def staff_login(
    request: Request[Any, Any, Any], data: Mapping[str, Any], action: Action
) -> StaffIdentity | str:
    """``check_staff_login`` with the app's services (for handlers not yet injected)."""
    services = services_of(request)
    return check_staff_login(services.identity, services.policy, request, data, action)


def is_loopback(request: Request[Any, Any, Any]) -> bool:
    host = (request.url.hostname or "").strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def session_cookie(
    request: Request[Any, Any, Any], name: str, value: str, *, max_age: int | None = None
) -> Cookie:
    """HttpOnly, SameSite=Strict, path-limited; Secure everywhere but on the loopback address."""
    return Cookie(
        key=name,
        value=value,
        path="/",
        httponly=True,
        samesite="strict",
        secure=not is_loopback(request),
        max_age=max_age,
    )


def expired_cookie(request: Request[Any, Any, Any], name: str) -> Cookie:
    return session_cookie(request, name, "", max_age=0)


def csrf_ok(expected: str | None, submitted: object) -> bool:
    if not expected or not isinstance(submitted, str) or not submitted:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), submitted.encode("utf-8"))


def new_login_csrf() -> str:
    return secrets.token_urlsafe(32)


def field(form: Mapping[str, Any], name: str, limit: int = MAX_FIELD_CHARS) -> str:
    """A form field as a trimmed string, cut at ``limit`` characters (never None)."""
    value = form.get(name)
    if isinstance(value, list):
        value = value[0] if value else ""
    if not isinstance(value, str):
        return ""
    return value.strip()[:limit]


def render(
    template: str,
    lang: str | None,
    *,
    session: ActiveSession | None = None,
    status_code: int = 200,
    cookies: list[Cookie] | None = None,
    **context: Any,
) -> Template:
    language = language_or_default(lang)
    return Template(
        template_name=template,
        context={
            "lang": language,
            "t": messages(language),
            "languages": LANGUAGES,
            "language_names": LANGUAGE_NAMES,
            "csrf_field": CSRF_FIELD,
            "csrf_token": session.csrf_token if session else context.pop("csrf_token", ""),
            "session": session,
            "error": None,
            "notice": None,
            "message": None,
            "with_totp": False,
            **context,
        },
        status_code=status_code,
        headers=SECURITY_HEADERS,
        cookies=cookies or [],
    )


def redirect(path: str, *, cookies: list[Cookie] | None = None) -> Redirect:
    return Redirect(
        path=path, status_code=HTTP_303_SEE_OTHER, headers=SECURITY_HEADERS, cookies=cookies or []
    )


def plain(text: str, status_code: int) -> Response[str]:
    return Response(
        text, status_code=status_code, media_type="text/plain", headers=SECURITY_HEADERS
    )


def threaded(fn: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """Run a blocking page handler in a worker thread, as an async handler.

    Used instead of ``sync_to_thread=True``: Litestar 2.25 wraps one of several
    sync handlers sharing a path twice, and that one then returns an unawaited
    coroutine (GET and POST of one page share a path here).
    """

    @functools.wraps(fn)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))

    return run
