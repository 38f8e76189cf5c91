"""The subject's own pages at the kiosk: active consents, withdrawal, who read their data.

The list of consents and the list of who read the subject's data are shown
only after the subject types their PIN, each time (nothing is remembered in the
session): the staff member who opened the session must not see them.
Everything is looked up for the subject the kiosk session is bound to; a
consent id of another subject is answered exactly like one that does not exist.
"""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.params import QueryParameter

from vault.consent.service import PinBlocked
from vault.errors import AuthenticationFailed, Forbidden, NotFound, RateLimited, VaultError
from vault.web import kiosk_port as port
from vault.web.common import csrf_ok, field, redirect, render, threaded
from vault.web.i18n import messages
from vault.web.kiosk import KIOSK_PAGE, FormData, Page, _kiosk, _to_login, csrf_failed
from vault.web.kiosk_port import Kiosk, KioskParts
from vault.web.kiosk_signing import ConsentId, _not_found
from vault.web.sessions import ActiveSession


def pin_page(
    session: ActiveSession,
    action: str,
    title: str,
    *,
    error: str | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Page:
    """Ask for the subject's PIN before a page of theirs is shown."""
    return render(
        "kiosk/pin.html",
        session.language,
        session=session,
        title=title,
        action=action,
        error=error,
        notice=notice,
        status_code=status,
    )


def pin_refusal(
    kiosk: Kiosk, session: ActiveSession, data: dict[str, Any], action: str, title: str
) -> Page | None:
    """None when the PIN posted now is the subject's; else the PIN page with the reason."""
    if not csrf_ok(session.csrf_token, data.get("csrf_token")):
        return csrf_failed(session)
    t = messages(session.language)
    try:
        port.check_pin(kiosk, session, field(data, "pin", 64))
    except PinBlocked:
        return pin_page(session, action, title, error=t["pin_blocked"], status=403)
    except RateLimited:
        return pin_page(session, action, title, error=t["pin_locked"], status=429)
    except (AuthenticationFailed, Forbidden):
        return pin_page(session, action, title, error=t["wrong_pin"], status=403)
    except VaultError as exc:
        return pin_page(session, action, title, error=exc.detail, status=exc.status)
    return None


@get("/kiosk/consents", **KIOSK_PAGE)
@threaded
def consents_pin(
    request: Request[Any, Any, Any],
    kiosk: KioskParts,
    withdrawn: Annotated[bool, QueryParameter(required=False)] = False,
) -> Page:
    session = _kiosk(request, kiosk)
    if session is None:
        return _to_login(request)
    t = messages(session.language)
    notice = t["withdrawn_notice"] if withdrawn else None
    return pin_page(session, "/kiosk/consents", t["consents_title"], notice=notice)


@post("/kiosk/consents", **KIOSK_PAGE)
@threaded
def consents_page(request: Request[Any, Any, Any], kiosk: KioskParts, data: FormData) -> Page:
    session = _kiosk(request, kiosk)
    if session is None:
        return _to_login(request)
    t = messages(session.language)
    refused = pin_refusal(kiosk, session, data, "/kiosk/consents", t["consents_title"])
    if refused is not None:
        return refused
    return render(
        "kiosk/consents.html",
        session.language,
        session=session,
        title=t["consents_title"],
        consents=port.active(kiosk, port.bound_subject(session), session.language),
    )


def _withdraw_page(
    request: Request[Any, Any, Any],
    kiosk: Kiosk,
    consent_id: uuid.UUID,
    error: str | None,
    status: int,
) -> Page:
    session = _kiosk(request, kiosk)
    if session is None:
        return _to_login(request)
    mine = {c.id: c for c in port.active(kiosk, port.bound_subject(session), session.language)}
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


@get("/kiosk/consents/{consent_id:uuid}/withdraw", **KIOSK_PAGE)
@threaded
def withdraw_page(
    request: Request[Any, Any, Any], kiosk: KioskParts, consent_id: ConsentId
) -> Page:
    return _withdraw_page(request, kiosk, consent_id, None, 200)


@post("/kiosk/consents/{consent_id:uuid}/withdraw", **KIOSK_PAGE)
@threaded
def withdraw(
    request: Request[Any, Any, Any], kiosk: KioskParts, consent_id: ConsentId, data: FormData
) -> Page:
    session = _kiosk(request, kiosk)
    if session is None:
        return _to_login(request)
    if not csrf_ok(session.csrf_token, data.get("csrf_token")):
        return csrf_failed(session)
    t = messages(session.language)
    try:
        port.withdraw(kiosk, session, consent_id, pin=field(data, "pin", 64))
    except NotFound:
        return _not_found(session)
    except PinBlocked:
        return _withdraw_page(request, kiosk, consent_id, t["pin_blocked"], 403)
    except RateLimited:
        return _withdraw_page(request, kiosk, consent_id, t["pin_locked"], 429)
    except (AuthenticationFailed, Forbidden):
        return _withdraw_page(request, kiosk, consent_id, t["wrong_pin"], 403)
    except VaultError as exc:
        return _withdraw_page(request, kiosk, consent_id, exc.detail, exc.status)
    return redirect("/kiosk/consents?withdrawn=true")


@get("/kiosk/disclosures", **KIOSK_PAGE)
@threaded
def disclosures_pin(request: Request[Any, Any, Any], kiosk: KioskParts) -> Page:
    session = _kiosk(request, kiosk)
    if session is None:
        return _to_login(request)
    title = messages(session.language)["disclosures_title"]
    return pin_page(session, "/kiosk/disclosures", title)


@post("/kiosk/disclosures", **KIOSK_PAGE)
@threaded
def disclosures_page(request: Request[Any, Any, Any], kiosk: KioskParts, data: FormData) -> Page:
    session = _kiosk(request, kiosk)
    if session is None:
        return _to_login(request)
    title = messages(session.language)["disclosures_title"]
    refused = pin_refusal(kiosk, session, data, "/kiosk/disclosures", title)
    if refused is not None:
        return refused
    rows = port.disclosures(kiosk, port.bound_subject(session))
    proofs = port.proofs(kiosk, rows)
    return render(
        "kiosk/disclosures.html",
        session.language,
        session=session,
        title=title,
        rows=rows,
        proofs=json.dumps(proofs, indent=1) if proofs else None,
    )
