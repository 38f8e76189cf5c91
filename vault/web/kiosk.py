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
from vault.errors import Forbidden, NotFound
from vault.vocabulary import Action, EventAction
from vault.web import kiosk_port as port
from vault.web.common import (
    KIOSK_COOKIE,
    LOGIN_CSRF_COOKIE,
    WEB_OPT,
    check_staff_login,
    csrf_ok,
    expired_cookie,
    field,
    may_open,
    new_login_csrf,
    redirect,
    render,
    session_cookie,
    threaded,
)
from vault.web.i18n import LANGUAGES, language_or_default, messages
from vault.web.kiosk_port import KIOSK_DEPENDENCIES, Kiosk, KioskParts
from vault.web.sessions import ActiveSession, SessionKind, StaffIdentity

FormData = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
Page = Template | Redirect | Response[Any]
LangQuery = Annotated[str | None, QueryParameter(required=False, max_length=8)]
# Every kiosk page: excluded from the bearer-token middleware, services injected.
KIOSK_PAGE: dict[str, Any] = {
    "opt": WEB_OPT,
    "include_in_schema": False,
    "dependencies": KIOSK_DEPENDENCIES,
}


def _allowed(kiosk: Kiosk, session: ActiveSession) -> bool:
    """Asked on every request: may the staff member who opened the session still hold it?

    A kiosk session needs ``kiosk.open`` for its subject now (the subject still
    held by the witness's organisation, the witness still in a witness role); a
    staff session needs ``kiosk.open`` in the staff member's organisation.
    """
    witness = port.witness_principal(session)
    if session.kind is not SessionKind.KIOSK:
        return may_open(kiosk.policy, witness, Action.OPEN_KIOSK)
    try:
        kiosk.consents.open_kiosk(witness, port.bound_subject(session))
    except (NotFound, Forbidden):
        return False
    return True


def _session(
    request: Request[Any, Any, Any], kiosk: Kiosk, *kinds: SessionKind
) -> ActiveSession | None:
    session = kiosk.sessions.resolve(request.cookies.get(KIOSK_COOKIE), *kinds)
    if session is None:
        return None
    if not _allowed(kiosk, session):
        kiosk.sessions.end(session.id)
        return None
    return session


def _kiosk(request: Request[Any, Any, Any], kiosk: Kiosk) -> ActiveSession | None:
    """The subject's kiosk session of this tablet, if the policies still allow it."""
    return _session(request, kiosk, SessionKind.KIOSK)


def _to_login(request: Request[Any, Any, Any]) -> Redirect:
    """Back to the start; the stale cookie is dropped so an expired tablet holds nothing."""
    had_cookie = bool(request.cookies.get(KIOSK_COOKIE))
    cookies = [expired_cookie(request, KIOSK_COOKIE)] if had_cookie else []
    return redirect("/kiosk/ended?expired=1" if had_cookie else "/kiosk/login", cookies=cookies)


def _audit(kiosk: Kiosk, session: ActiveSession, action: EventAction) -> None:
    kiosk.audit.append(
        AuditEvent.by(
            port.witness_principal(session),
            action,
            Outcome.INFO,
            subject_id=session.subject_id,
            target_id=session.id,
        )
    )


# ------------------------------------------------------------------ staff: log in, open


@get("/kiosk", **KIOSK_PAGE)
@threaded
def kiosk_root(request: Request[Any, Any, Any], kiosk: KioskParts) -> Redirect:
    session = _session(request, kiosk, SessionKind.KIOSK, SessionKind.STAFF)
    if session is None:
        return _to_login(request)
    return redirect("/kiosk/home" if session.kind is SessionKind.KIOSK else "/kiosk/start")


@get(
    "/kiosk/login",
    opt={**WEB_OPT, "asks_nothing": "the login form: shows nothing"},
    sync_to_thread=False,
    include_in_schema=False,
)
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


@post("/kiosk/login", **KIOSK_PAGE)
@threaded
def kiosk_login(
    request: Request[Any, Any, Any], kiosk: KioskParts, data: FormData, lang: LangQuery = None
) -> Page:
    outcome = check_staff_login(kiosk.identity, kiosk.policy, request, data, Action.OPEN_KIOSK)
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
    cookie_value, _ = kiosk.sessions.open(
        SessionKind.STAFF, outcome, language=language_or_default(lang)
    )
    return redirect(
        "/kiosk/start",
        cookies=[
            session_cookie(request, KIOSK_COOKIE, cookie_value),
            expired_cookie(request, LOGIN_CSRF_COOKIE),
        ],
    )


def _start_page(
    kiosk: Kiosk, session: ActiveSession, error: str | None = None, status: int = 200
) -> Template:
    t = messages(session.language)
    return render(
        "kiosk/start.html",
        session.language,
        session=session,
        title=t["start_title"],
        sentras=kiosk.consents.receiving_organizations(),
        error=error,
        status_code=status,
    )


@get("/kiosk/start", **KIOSK_PAGE)
@threaded
def kiosk_start_page(request: Request[Any, Any, Any], kiosk: KioskParts) -> Page:
    session = _session(request, kiosk, SessionKind.STAFF)
    if session is None:
        return _to_login(request)
    return _start_page(kiosk, session)


@post("/kiosk/start", **KIOSK_PAGE)
@threaded
def kiosk_start(request: Request[Any, Any, Any], kiosk: KioskParts, data: FormData) -> Page:
    staff = _session(request, kiosk, SessionKind.STAFF)
    if staff is None:
        return _to_login(request)
    t = messages(staff.language)
    if not csrf_ok(staff.csrf_token, data.get("csrf_token")):
        return _start_page(kiosk, staff, t["csrf_failed"], 403)
    try:
        subject_id = uuid.UUID(field(data, "subject_id", 64))
        # kiosk.open for this subject: a witness role of the subject's organisation.
        kiosk.consents.open_kiosk(port.witness_principal(staff), subject_id)
    except (ValueError, NotFound):
        return _start_page(kiosk, staff, t["subject_not_found"], 404)
    except Forbidden:
        return _start_page(kiosk, staff, t["login_role_refused"], 403)
    sentra = field(data, "sentra", 64)
    # The receiving sentra is chosen from the existing Kemensos organisations, or none.
    if sentra and sentra not in kiosk.consents.receiving_organizations():
        return _start_page(kiosk, staff, t["sentra_unknown"], 422)
    language = language_or_default(field(data, "language", 8))
    witness = StaffIdentity(staff.user_id, staff.username, staff.role, staff.organization)
    # The staff session ends here: the tablet from now on holds only the subject's session.
    kiosk.sessions.end(staff.id)
    cookie_value, opened = kiosk.sessions.open(
        SessionKind.KIOSK, witness, subject_id=subject_id, language=language
    )
    if sentra:
        kiosk.sessions.update(opened.id, flow={"sentra": sentra})
    _audit(kiosk, opened, EventAction.KIOSK_OPEN)
    return redirect("/kiosk/home", cookies=[session_cookie(request, KIOSK_COOKIE, cookie_value)])


# ------------------------------------------------------------------ the subject's pages


@get("/kiosk/home", **KIOSK_PAGE)
@threaded
def kiosk_home(request: Request[Any, Any, Any], kiosk: KioskParts) -> Page:
    session = _kiosk(request, kiosk)
    if session is None:
        return _to_login(request)
    # The first time, the subject chooses their own PIN before anything else.
    state = kiosk.consents.pin_state(port.bound_subject(session), session.id)
    if not state.has_pin:
        return redirect("/kiosk/pin/new")
    return render(
        "kiosk/home.html",
        session.language,
        session=session,
        title=messages(session.language)["home_title"],
        forms=port.forms(kiosk),
        # When and in whose session the PIN was made, every visit: a PIN the subject
        # did not choose is disowned here (vault.consent.pin_reports).
        origin=port.pin_origin_text(kiosk, session),
        blocked=state.blocked,
    )


def csrf_failed(session: ActiveSession) -> Template:
    return render(
        "kiosk/message.html",
        session.language,
        session=session,
        title=messages(session.language)["csrf_failed"],
        status_code=403,
    )


@post("/kiosk/language", **KIOSK_PAGE)
@threaded
def kiosk_language(request: Request[Any, Any, Any], kiosk: KioskParts, data: FormData) -> Page:
    session = _session(request, kiosk, SessionKind.KIOSK, SessionKind.STAFF)
    if session is None:
        return _to_login(request)
    if not csrf_ok(session.csrf_token, data.get("csrf_token")):
        return csrf_failed(session)
    wanted = field(data, "language", 8)
    if wanted in LANGUAGES:
        kiosk.sessions.update(session.id, language=wanted)
    back = field(data, "next", 200)
    # Only a path of this kiosk, never another site.
    if not back.startswith("/kiosk/") or "//" in back or "\\" in back:
        back = "/kiosk"
    return redirect(back)


@post("/kiosk/end", **KIOSK_PAGE)
@threaded
def kiosk_end(request: Request[Any, Any, Any], kiosk: KioskParts, data: FormData) -> Page:
    session = _session(request, kiosk, SessionKind.KIOSK, SessionKind.STAFF)
    if session is None:
        return _to_login(request)
    if not csrf_ok(session.csrf_token, data.get("csrf_token")):
        return csrf_failed(session)
    kiosk.sessions.end(session.id)
    if session.kind is SessionKind.KIOSK:
        _audit(kiosk, session, EventAction.KIOSK_END)
    return redirect(
        f"/kiosk/ended?lang={session.language}", cookies=[expired_cookie(request, KIOSK_COOKIE)]
    )


@get(
    "/kiosk/ended",
    opt={**WEB_OPT, "asks_nothing": "a goodbye page: shows nothing"},
    sync_to_thread=False,
    include_in_schema=False,
)
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
