"""The kiosk page on which a minor's guardian is enrolled, once.

Reached only after the child's own PIN was right in this session and the
consent service found them under 18 (the session's ``minor`` flag). Three
steps on one page: the staff member of the session types the guardian's name,
relation and identity document; a second staff member looks at the document
and confirms with their own username and password (and one-time code where
asked), typed on this tablet; the guardian chooses their own PIN, twice. The
consent service checks every rule (``ConsentService.enrol_guardian``); the
second staff member's login is ended at once (it opens nothing else).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.params import QueryParameter

from vault.consent.guardians import DOCUMENT_TYPES, NotSecondPerson
from vault.consent.service import GuardianIdentity, PinRefused
from vault.errors import AuthenticationFailed, Forbidden, NotFound, RateLimited, VaultError
from vault.vocabulary import AuthenticatedUser, Principal, Role
from vault.web import kiosk_port as port
from vault.web.common import csrf_ok, field, redirect, render, threaded
from vault.web.i18n import messages
from vault.web.kiosk import KIOSK_PAGE, FormData, Page, _kiosk, _to_login, csrf_failed
from vault.web.kiosk_port import Kiosk, KioskParts
from vault.web.sessions import ActiveSession

FormQuery = Annotated[
    str | None, QueryParameter(required=False, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")
]


def _page(
    session: ActiveSession, form_id: str, error: str | None = None, status: int = 200
) -> Page:
    return render(
        "kiosk/guardian.html",
        session.language,
        session=session,
        title=messages(session.language)["guardian_title"],
        documents=DOCUMENT_TYPES,
        form_id=form_id,
        error=error,
        status_code=status,
    )


def _checker(kiosk: Kiosk, data: dict[str, Any]) -> Principal | str:
    """The second staff member, by their own login typed at this tablet (ended at once)."""
    username, password = field(data, "checker_username", 64), field(data, "checker_password", 1024)
    if not username or not password:
        return "login_failed"
    try:
        issued = kiosk.identity.login(username, password, field(data, "checker_totp", 16) or None)
    except RateLimited:
        return "too_many_attempts"
    except AuthenticationFailed:
        return "login_failed"
    user = issued.user
    # The login's token is never handed out: it is revoked now.
    kiosk.identity.logout(
        AuthenticatedUser(user.id, user.username, user.role, user.organization, issued.token_id)
    )
    return Principal(user.id, Role(user.role), user.organization)


@get("/kiosk/guardian", **KIOSK_PAGE)
@threaded
def guardian_page(
    request: Request[Any, Any, Any], kiosk: KioskParts, form: FormQuery = None
) -> Page:
    session = _kiosk(request, kiosk)
    if session is None:
        return _to_login(request)
    if session.flow.get("minor") is not True:
        return redirect("/kiosk/home")
    return _page(session, form or "")


@post("/kiosk/guardian", **KIOSK_PAGE)
@threaded
def enrol_guardian(request: Request[Any, Any, Any], kiosk: KioskParts, data: FormData) -> Page:
    session = _kiosk(request, kiosk)
    if session is None:
        return _to_login(request)
    if session.flow.get("minor") is not True:
        return redirect("/kiosk/home")
    if not csrf_ok(session.csrf_token, data.get("csrf_token")):
        return csrf_failed(session)
    t = messages(session.language)
    form_id = field(data, "form", 64)
    if not form_id.replace("-", "").isalnum():
        form_id = ""
    identity = GuardianIdentity(
        name=field(data, "guardian_name", 200),
        relation=field(data, "guardian_relation", 64),
        document_type=field(data, "document_type", 16),
        document_number=field(data, "document_number", 64),
    )
    try:
        identity.checked()
    except VaultError:
        return _page(session, form_id, t["guardian_invalid"], 422)
    checker = _checker(kiosk, data)
    if isinstance(checker, str):
        return _page(session, form_id, t[checker], 429 if checker == "too_many_attempts" else 401)
    try:
        kiosk.consents.enrol_guardian(
            port.witness_principal(session),
            port.bound_subject(session),
            identity,
            checked_by=checker,
            pin=field(data, "pin", 64),
            again=field(data, "pin_again", 64),
            kiosk_session=session.id,
        )
    except PinRefused as refused:
        return _page(session, form_id, t[refused.reason], 422)
    except NotFound:
        return _page(session, form_id, t["guardian_witness_refused"], 403)
    except NotSecondPerson:
        return _page(session, form_id, t["guardian_witness_same"], 403)
    except Forbidden:
        return _page(session, form_id, t["guardian_witness_refused"], 403)
    except VaultError as exc:
        return _page(session, form_id, exc.detail, exc.status)
    back = f"/kiosk/forms/{form_id}/summary" if form_id else "/kiosk/home"
    return render(
        "kiosk/message.html",
        session.language,
        session=session,
        title=t["guardian_title"],
        message=t["guardian_saved"],
        next_url=back,
    )
