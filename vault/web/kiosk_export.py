"""The subject's right of access at the kiosk: a machine-readable copy of everything held.

The copy is decrypted only for the subject, after their PIN (through the
consent service's rate-limited gate), and audited as ``subject.export``.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from litestar import Request, Response, get, post

from vault.consent.service import Actor
from vault.errors import RateLimited
from vault.web import kiosk_port as port
from vault.web.common import (
    SECURITY_HEADERS,
    WEB_OPT,
    csrf_ok,
    field,
    render,
    services_of,
    threaded,
)
from vault.web.i18n import messages
from vault.web.kiosk import FormData, Page, _kiosk, _to_login
from vault.web.kiosk_signing import _csrf_failed


def _page(request: Request[Any, Any, Any], error: str | None, status: int) -> Page:
    session = _kiosk(request)
    if session is None:
        return _to_login(request)
    return render(
        "kiosk/my_data.html",
        session.language,
        session=session,
        title=messages(session.language)["my_data_title"],
        error=error,
        status_code=status,
    )


@get("/kiosk/my-data", opt=WEB_OPT, include_in_schema=False)
@threaded
def my_data_page(request: Request[Any, Any, Any]) -> Page:
    return _page(request, None, 200)


@post("/kiosk/my-data", opt=WEB_OPT, include_in_schema=False)
@threaded
def my_data(request: Request[Any, Any, Any], data: FormData) -> Page:
    session = _kiosk(request)
    if session is None:
        return _to_login(request)
    if not csrf_ok(session.csrf_token, data.get("csrf_token")):
        return _csrf_failed(session)
    t = messages(session.language)
    services = services_of(request)
    subject_id = port.bound_subject(session)
    pin = field(data, "pin", 64)
    try:
        if not pin or not services.consents.verify_pin(subject_id, pin):
            return _page(request, t["wrong_pin"], 403)
    except RateLimited:
        return _page(request, t["pin_locked"], 429)
    export: dict[str, Any] = services.records.export_for_subject(subject_id)
    actor = Actor.subject(subject_id)
    # Read once: the same active consents give the listing and the receipts.
    shown = services.consents.active_for_display(subject_id, session.language)
    export["consents"] = shown
    export["receipts"] = {
        str(view["id"]): services.consents.receipt(actor, uuid.UUID(str(view["id"])))
        for view in shown
    }
    export["disclosures"] = [
        {
            "time": row.time.isoformat(),
            "by": row.actor,
            "categories": list(row.categories),
            "purpose": row.purpose,
            "emergency": row.break_glass,
        }
        for row in port.disclosures(services, subject_id)
    ]
    body = json.dumps(export, ensure_ascii=False, indent=2, default=str)
    return Response(
        body,
        media_type="application/json",
        status_code=200,
        headers={
            **SECURITY_HEADERS,
            "Content-Disposition": 'attachment; filename="my-data.json"',
        },
    )
