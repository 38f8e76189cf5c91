"""The subject's PIN at the kiosk: chosen the first time, chosen again after a reset.

The subject chooses a PIN privately, typed twice; the consent service refuses
an easy one (``vault.consent.choosing``). A subject who forgot their PIN asks
the staff member beside them, who presses "I forgot my PIN": the kiosk shows
the reset's number, which a second staff member approves over the API
(``POST /v1/pin-resets/{id}/approve``). Then the subject chooses a new PIN in
this same session. Neither PIN is stored by the kiosk.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post

from vault.consent.service import PinRefused
from vault.errors import Forbidden, NotFound, VaultError
from vault.web import kiosk_port as port
from vault.web.common import csrf_ok, field, redirect, render, threaded
from vault.web.i18n import messages
from vault.web.kiosk import KIOSK_PAGE, FormData, Page, _kiosk, _to_login, csrf_failed
from vault.web.kiosk_port import Kiosk, KioskParts
from vault.web.sessions import ActiveSession


def _choose_page(
    session: ActiveSession,
    *,
    error: str | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Page:
    t = messages(session.language)
    return render(
        "kiosk/choose_pin.html",
        session.language,
        session=session,
        title=t["choose_pin_title"],
        error=error,
        notice=notice,
        status_code=status,
    )


def _reset_page(kiosk: Kiosk, session: ActiveSession) -> Page:
    state = kiosk.consents.pin_state(port.bound_subject(session), session.id)
    if state.may_choose:
        return _choose_page(session, notice=messages(session.language)["reset_ready"])
    return render(
        "kiosk/pin_reset.html",
        session.language,
        session=session,
        title=messages(session.language)["reset_title"],
        reset_id=state.reset_pending,
    )


@get("/kiosk/pin/new", **KIOSK_PAGE)
@threaded
def choose_pin_page(request: Request[Any, Any, Any], kiosk: KioskParts) -> Page:
    session = _kiosk(request, kiosk)
    if session is None:
        return _to_login(request)
    state = kiosk.consents.pin_state(port.bound_subject(session), session.id)
    if not state.may_choose:
        return redirect("/kiosk/home")
    return _choose_page(session)


@post("/kiosk/pin/new", **KIOSK_PAGE)
@threaded
def choose_pin(request: Request[Any, Any, Any], kiosk: KioskParts, data: FormData) -> Page:
    session = _kiosk(request, kiosk)
    if session is None:
        return _to_login(request)
    if not csrf_ok(session.csrf_token, data.get("csrf_token")):
        return csrf_failed(session)
    t = messages(session.language)
    try:
        kiosk.consents.choose_pin(
            port.bound_subject(session),
            field(data, "pin", 64),
            field(data, "pin_again", 64),
            witness=port.witness_principal(session),
            kiosk_session=session.id,
        )
    except PinRefused as refused:
        return _choose_page(session, error=t[refused.reason], status=422)
    except Forbidden:
        state = kiosk.consents.pin_state(port.bound_subject(session), session.id)
        if state.may_choose:  # no PIN yet: the session was opened by the registrar
            return _choose_page(session, error=t["pin_registrar"], status=403)
        return redirect("/kiosk/home")
    except VaultError as exc:
        return _choose_page(session, error=exc.detail, status=exc.status)
    return render(
        "kiosk/message.html",
        session.language,
        session=session,
        title=t["choose_pin_title"],
        message=t["pin_saved"],
    )


@get("/kiosk/pin/forgot", **KIOSK_PAGE)
@threaded
def reset_page(request: Request[Any, Any, Any], kiosk: KioskParts) -> Page:
    session = _kiosk(request, kiosk)
    if session is None:
        return _to_login(request)
    return _reset_page(kiosk, session)


@post("/kiosk/pin/forgot", **KIOSK_PAGE)
@threaded
def request_reset(request: Request[Any, Any, Any], kiosk: KioskParts, data: FormData) -> Page:
    session = _kiosk(request, kiosk)
    if session is None:
        return _to_login(request)
    if not csrf_ok(session.csrf_token, data.get("csrf_token")):
        return csrf_failed(session)
    state = kiosk.consents.pin_state(port.bound_subject(session), session.id)
    if state.reset_pending is None and not state.may_choose:
        try:
            kiosk.consents.request_reset(
                port.witness_principal(session), port.bound_subject(session), session.id
            )
        except (NotFound, Forbidden):
            return _to_login(request)
    return redirect("/kiosk/pin/forgot")


@post("/kiosk/pin/disown", **KIOSK_PAGE)
@threaded
def disown_pin(request: Request[Any, Any, Any], kiosk: KioskParts, data: FormData) -> Page:
    """ "I did not choose this PIN": the PIN is blocked, the compliance officer alerted,
    and a reset asked for (a second staff member approves; then a new PIN is chosen)."""
    session = _kiosk(request, kiosk)
    if session is None:
        return _to_login(request)
    if not csrf_ok(session.csrf_token, data.get("csrf_token")):
        return csrf_failed(session)
    try:
        reset_id = kiosk.consents.disown_pin(
            port.witness_principal(session), port.bound_subject(session), session.id
        )
    except (NotFound, Forbidden):
        return redirect("/kiosk/home")
    return render(
        "kiosk/pin_reset.html",
        session.language,
        session=session,
        title=messages(session.language)["reset_title"],
        reset_id=reset_id,
        notice=messages(session.language)["pin_disowned"],
    )
