"""The subject's own pages at the kiosk: active consents, withdrawal, who read their data.

Everything is looked up for the subject the kiosk session is bound to; a
consent id of another subject is answered exactly like one that does not exist.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.params import QueryParameter

from vault.errors import AuthenticationFailed, Forbidden, NotFound, RateLimited, VaultError
from vault.web import kiosk_port as port
from vault.web.common import WEB_OPT, csrf_ok, field, redirect, render, services_of, threaded
from vault.web.i18n import messages
from vault.web.kiosk import FormData, Page, _kiosk, _to_login
from vault.web.kiosk_signing import ConsentId, _csrf_failed, _not_found


@get("/kiosk/consents", opt=WEB_OPT, include_in_schema=False)
@threaded
def consents_page(
    request: Request[Any, Any, Any],
    withdrawn: Annotated[bool, QueryParameter(required=False)] = False,
) -> Page:
    session = _kiosk(request)
    if session is None:
        return _to_login(request)
    services = services_of(request)
    t = messages(session.language)
    return render(
        "kiosk/consents.html",
        session.language,
        session=session,
        title=t["consents_title"],
        consents=port.active(services, port.bound_subject(session), session.language),
        notice=t["withdrawn_notice"] if withdrawn else None,
    )


def _withdraw_page(
    request: Request[Any, Any, Any], consent_id: uuid.UUID, error: str | None, status: int
) -> Page:
    session = _kiosk(request)
    if session is None:
        return _to_login(request)
    services = services_of(request)
    mine = {c.id: c for c in port.active(services, port.bound_subject(session), session.language)}
    if consent_id not in mine:
        return _not_found(session)
    return render(
        "kiosk/withdraw.html",
        session.language,
        session=session,
        title=messages(session.language)["withdraw_title"],
        consent=mine[consent_id],
        error=error,
        status_code=status,
    )


@get(
    "/kiosk/consents/{consent_id:uuid}/withdraw",
    opt=WEB_OPT,
    include_in_schema=False,
)
@threaded
def withdraw_page(request: Request[Any, Any, Any], consent_id: ConsentId) -> Page:
    return _withdraw_page(request, consent_id, None, 200)


@post(
    "/kiosk/consents/{consent_id:uuid}/withdraw",
    opt=WEB_OPT,
    include_in_schema=False,
)
@threaded
def withdraw(request: Request[Any, Any, Any], consent_id: ConsentId, data: FormData) -> Page:
    session = _kiosk(request)
    if session is None:
        return _to_login(request)
    if not csrf_ok(session.csrf_token, data.get("csrf_token")):
        return _csrf_failed(session)
    t = messages(session.language)
    try:
        port.withdraw(services_of(request), session, consent_id, pin=field(data, "pin", 64))
    except NotFound:
        return _not_found(session)
    except RateLimited:
        return _withdraw_page(request, consent_id, t["pin_locked"], 429)
    except (AuthenticationFailed, Forbidden):
        return _withdraw_page(request, consent_id, t["wrong_pin"], 403)
    except VaultError as exc:
        return _withdraw_page(request, consent_id, exc.detail, exc.status)
    return redirect("/kiosk/consents?withdrawn=true")


@get("/kiosk/disclosures", opt=WEB_OPT, include_in_schema=False)
@threaded
def disclosures_page(request: Request[Any, Any, Any]) -> Page:
    session = _kiosk(request)
    if session is None:
        return _to_login(request)
    return render(
        "kiosk/disclosures.html",
        session.language,
        session=session,
        title=messages(session.language)["disclosures_title"],
        rows=port.disclosures(services_of(request), port.bound_subject(session)),
    )
