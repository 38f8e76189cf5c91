"""The kiosk's signing flow: the form's introduction, one purpose per screen, a
summary, the PIN (and for a minor the guardian's PIN and the child's assent), the receipt.

The choices made so far live in the kiosk session row (purpose codes and
yes/no only); the PINs are posted once, with the signature, and never stored by
the kiosk. Whether the subject is a minor is not known before their PIN is
right: the first signature answers "a guardian must sign too" (after the
consent service's audited age check), the session remembers it, and the page
then asks for the guardian's PIN and the child's assent, or first sends them
to enrol the guardian (``vault.web.kiosk_guardian``).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.params import PathParameter
from litestar.response import Template

from vault.consent.forms import ConsentForm
from vault.consent.service import GuardianNeeded, GuardianPinWrong, PinBlocked
from vault.errors import AuthenticationFailed, Forbidden, NotFound, RateLimited, VaultError
from vault.web import kiosk_port as port
from vault.web.common import csrf_ok, field, redirect, render, threaded
from vault.web.i18n import messages
from vault.web.kiosk import KIOSK_PAGE, FormData, Page, _kiosk, _to_login, csrf_failed
from vault.web.kiosk_port import Kiosk, KioskParts
from vault.web.sessions import ActiveSession

FormId = Annotated[str, PathParameter(max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")]
Number = Annotated[int, PathParameter(ge=1, le=50)]
ConsentId = Annotated[uuid.UUID, PathParameter()]


def _form(kiosk: Kiosk, form_id: str) -> ConsentForm | None:
    for form in port.forms(kiosk):
        if form.id == form_id:
            return form
    return None


def _choices(session: ActiveSession, form: ConsentForm) -> dict[str, bool]:
    """The choices made on this form version so far (another form's are forgotten)."""
    flow = session.flow
    if flow.get("form") != form.key or not isinstance(flow.get("choices"), dict):
        return {}
    codes = {p.code for p in form.purposes}
    return {k: bool(v) for k, v in flow["choices"].items() if k in codes}


def _not_found(session: ActiveSession) -> Template:
    t = messages(session.language)
    return render(
        "kiosk/message.html",
        session.language,
        session=session,
        title=t["not_found"],
        status_code=404,
    )


def _first_open(form: ConsentForm, choices: dict[str, bool]) -> int | None:
    for number, purpose in enumerate(form.purposes, start=1):
        if purpose.code not in choices:
            return number
    return None


@get("/kiosk/forms/{form_id:str}", **KIOSK_PAGE)
@threaded
def form_intro(request: Request[Any, Any, Any], kiosk: KioskParts, form_id: FormId) -> Page:
    session = _kiosk(request, kiosk)
    if session is None:
        return _to_login(request)
    form = _form(kiosk, form_id)
    if form is None or session.language not in form.languages:
        return _not_found(session)
    controller = kiosk.consents.settings.controller_name
    sections = {
        name: form.section(session.language, name, controller)
        for name in ("title", "intro", "controller", "duration", "rights", "withdraw")
    }
    return render(
        "kiosk/intro.html",
        session.language,
        session=session,
        title=sections["title"],
        form=form,
        sections=sections,
    )


@get(
    "/kiosk/forms/{form_id:str}/purposes/{number:int}",
    **KIOSK_PAGE,
)
@threaded
def purpose_page(
    request: Request[Any, Any, Any], kiosk: KioskParts, form_id: FormId, number: Number
) -> Page:
    session = _kiosk(request, kiosk)
    if session is None:
        return _to_login(request)
    form = _form(kiosk, form_id)
    if form is None or number > len(form.purposes) or session.language not in form.languages:
        return _not_found(session)
    lang = session.language
    purpose = form.purposes[number - 1]
    return render(
        "kiosk/purpose.html",
        lang,
        session=session,
        title=purpose.title[lang],
        form=form,
        purpose=purpose,
        number=number,
        total=len(form.purposes),
        categories=[form.category_label(lang, c) for c in purpose.categories],
        recipients=port.recipient_labels(kiosk, session, form, purpose),
        choice=_choices(session, form).get(purpose.code),
    )


@post(
    "/kiosk/forms/{form_id:str}/purposes/{number:int}",
    **KIOSK_PAGE,
)
@threaded
def purpose_choice(
    request: Request[Any, Any, Any],
    kiosk: KioskParts,
    form_id: FormId,
    number: Number,
    data: FormData,
) -> Page:
    session = _kiosk(request, kiosk)
    if session is None:
        return _to_login(request)
    form = _form(kiosk, form_id)
    if form is None or number > len(form.purposes):
        return _not_found(session)
    if not csrf_ok(session.csrf_token, data.get("csrf_token")):
        return csrf_failed(session)
    choice = field(data, "choice", 16)
    if choice not in ("accept", "refuse"):
        return redirect(f"/kiosk/forms/{form.id}/purposes/{number}")
    choices = _choices(session, form)
    choices[form.purposes[number - 1].code] = choice == "accept"
    flow = {**session.flow, "form": form.key, "choices": choices}
    kiosk.sessions.update(session.id, flow=flow)
    following = _first_open(form, choices)
    if following is None:
        return redirect(f"/kiosk/forms/{form.id}/summary")
    return redirect(f"/kiosk/forms/{form.id}/purposes/{following}")


def _summary_context(
    kiosk: Kiosk,
    session: ActiveSession,
    form: ConsentForm,
    choices: dict[str, bool],
) -> dict[str, Any]:
    lang = session.language
    return {
        "form": form,
        "rows": [
            {
                "number": n,
                "title": p.title[lang],
                "accepted": choices[p.code],
                "categories": [form.category_label(lang, c) for c in p.categories],
                "recipients": port.recipient_labels(kiosk, session, form, p),
            }
            for n, p in enumerate(form.purposes, start=1)
        ],
        # Known only after the subject's PIN was right once in this session (the consent
        # service reads the date of birth only then, audited): a guardian signs too.
        "minor": session.flow.get("minor") is True,
    }


@get("/kiosk/forms/{form_id:str}/summary", **KIOSK_PAGE)
@threaded
def summary_page(request: Request[Any, Any, Any], kiosk: KioskParts, form_id: FormId) -> Page:
    session = _kiosk(request, kiosk)
    if session is None:
        return _to_login(request)
    form = _form(kiosk, form_id)
    if form is None:
        return _not_found(session)
    choices = _choices(session, form)
    missing = _first_open(form, choices)
    if missing is not None:
        return redirect(f"/kiosk/forms/{form.id}/purposes/{missing}")
    return render(
        "kiosk/summary.html",
        session.language,
        session=session,
        title=messages(session.language)["summary_title"],
        **_summary_context(kiosk, session, form, choices),
    )


@post("/kiosk/forms/{form_id:str}/sign", **KIOSK_PAGE)
@threaded
def sign(
    request: Request[Any, Any, Any], kiosk: KioskParts, form_id: FormId, data: FormData
) -> Page:
    session = _kiosk(request, kiosk)
    if session is None:
        return _to_login(request)
    form = _form(kiosk, form_id)
    if form is None:
        return _not_found(session)
    if not csrf_ok(session.csrf_token, data.get("csrf_token")):
        return csrf_failed(session)
    choices = _choices(session, form)
    missing = _first_open(form, choices)
    if missing is not None:
        return redirect(f"/kiosk/forms/{form.id}/purposes/{missing}")
    t = messages(session.language)
    context = _summary_context(kiosk, session, form, choices)
    guardian: port.Guardian | None = None
    if context["minor"]:
        guardian = port.Guardian(
            pin=field(data, "guardian_pin", 64), assent=field(data, "assent", 8) == "yes"
        )
        if not guardian.pin or not guardian.assent:
            return _summary(session, context, t["assent_needed"], 422)
    try:
        consent_id = port.sign(
            kiosk,
            session,
            form,
            granted=[code for code, yes in choices.items() if yes],
            pin=field(data, "pin", 64),
            guardian=guardian,
        )
    except GuardianNeeded as needed:
        # The subject's PIN was right and they are under 18: the guardian signs too.
        kiosk.sessions.update(session.id, flow={**session.flow, "minor": True})
        if not needed.enrolled:
            return redirect(f"/kiosk/guardian?form={form.id}")
        context["minor"] = True
        return _summary(session, context, t["guardian_needed"], 422)
    except PinBlocked:
        error, status = t["pin_blocked"], 403
    except RateLimited:
        error, status = t["pin_locked"], 429
    except GuardianPinWrong:
        error, status = t["guardian_pin_wrong"], 403
    except (AuthenticationFailed, Forbidden):
        error, status = t["wrong_pin"], 403
    except VaultError as exc:
        error, status = exc.detail, exc.status
    else:
        kept: dict[str, Any] = {
            k: session.flow[k] for k in ("sentra", "minor") if k in session.flow
        }
        kiosk.sessions.update(session.id, flow=kept)
        return redirect(f"/kiosk/receipts/{consent_id}")
    return _summary(session, context, error, status)


def _summary(session: ActiveSession, context: dict[str, Any], error: str, status: int) -> Page:
    return render(
        "kiosk/summary.html",
        session.language,
        session=session,
        title=messages(session.language)["summary_title"],
        error=error,
        status_code=status,
        **context,
    )


@get("/kiosk/receipts/{consent_id:uuid}", **KIOSK_PAGE)
@threaded
def receipt_page(request: Request[Any, Any, Any], kiosk: KioskParts, consent_id: ConsentId) -> Page:
    session = _kiosk(request, kiosk)
    if session is None:
        return _to_login(request)
    try:
        receipt = port.receipt(kiosk, session, consent_id, session.language)
    except NotFound:
        return _not_found(session)
    return render(
        "kiosk/receipt.html",
        session.language,
        session=session,
        title=messages(session.language)["receipt_title"],
        receipt=receipt,
        code=port.verification_code(receipt.receipt_jws),
    )
