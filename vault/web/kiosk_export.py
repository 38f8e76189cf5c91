"""The subject's right of access at the kiosk: a machine-readable copy of everything held.

The copy is decrypted only for the subject, after their PIN (through the
consent service's rate-limited gate), and audited as ``subject.export``.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from litestar import Request, Response, get, post

from vault.consent.service import PinBlocked
from vault.errors import AuthenticationFailed, Forbidden, RateLimited
from vault.web import kiosk_port as port
from vault.web.common import SECURITY_HEADERS, csrf_ok, field, render, threaded
from vault.web.i18n import messages
from vault.web.kiosk import KIOSK_PAGE, FormData, Page, _kiosk, _to_login, csrf_failed
from vault.web.kiosk_port import Kiosk, KioskParts


def _page(request: Request[Any, Any, Any], kiosk: Kiosk, error: str | None, status: int) -> Page:
    session = _kiosk(request, kiosk)
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


@get("/kiosk/my-data", **KIOSK_PAGE)
@threaded
def my_data_page(request: Request[Any, Any, Any], kiosk: KioskParts) -> Page:
    return _page(request, kiosk, None, 200)


@post("/kiosk/my-data", **KIOSK_PAGE)
@threaded
def my_data(request: Request[Any, Any, Any], kiosk: KioskParts, data: FormData) -> Page:
    session = _kiosk(request, kiosk)
    if session is None:
        return _to_login(request)
    if not csrf_ok(session.csrf_token, data.get("csrf_token")):
        return csrf_failed(session)
    t = messages(session.language)
    subject_id = port.bound_subject(session)
    try:
        port.check_pin(kiosk, session, field(data, "pin", 64))
    except PinBlocked:
        return _page(request, kiosk, t["pin_blocked"], 403)
    except RateLimited:
        return _page(request, kiosk, t["pin_locked"], 429)
    except (AuthenticationFailed, Forbidden):
        return _page(request, kiosk, t["wrong_pin"], 403)
    export: dict[str, Any] = kiosk.records.export_for_subject(subject_id)
    actor = kiosk.subject_actor(session)
    # Read once: the same active consents give the listing and the receipts.
    shown = kiosk.consents.active_for_display(subject_id, session.language)
    export["consents"] = shown
    export["receipts"] = {
        str(view["id"]): kiosk.consents.receipt(actor, uuid.UUID(str(view["id"]))) for view in shown
    }
    rows = port.disclosures(kiosk, subject_id)
    export["disclosures"] = [
        {
            "seq": row.seq,
            "time": row.time.isoformat(),
            "by": row.actor,
            "categories": list(row.categories),
            "purpose": row.purpose,
            "emergency": row.break_glass,
        }
        for row in rows
    ]
    # Offline proof that each listed read is in the signed log: tools/verify_log.py.
    export["proofs"] = port.proofs(kiosk, rows)
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
