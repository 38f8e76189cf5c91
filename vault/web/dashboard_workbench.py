"""The compliance officer's workbench pages beside the dashboard: language, finding a
subject by NIK or register number, alerts and their acknowledgement, verifying now.

Every handler re-checks the viewer (``vault.web.dashboard_access``), asks the
policies (``audit.read``, ``audit.alert_acknowledge``) and checks the form's
CSRF token; what it does is audited.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import PathParameter
from litestar.response import Redirect, Template

from vault.access.engine import PolicyEngine
from vault.audit.alert_store import NOTE_MAX, acknowledge
from vault.audit.alerts import rules_from
from vault.audit.events import AuditEvent, Outcome
from vault.audit.incremental import verify_from_head
from vault.audit.log import AuditLog
from vault.audit.proofs import proofs_of
from vault.audit.report import disclosure_report
from vault.config import Settings
from vault.crypto.blind_index import BlindIndex
from vault.crypto.signing_keys import CurrentSigner
from vault.db import Database
from vault.errors import VaultError
from vault.identity.service import IdentityService
from vault.vocabulary import Action, EventAction, OperationFacts
from vault.web.common import (
    WEB_OPT,
    csrf_ok,
    field,
    plain,
    redirect,
    render,
    services_of,
    threaded,
    web_sessions,
)
from vault.web.dashboard_access import Viewer, may_read, subject_report_viewer, viewer_of
from vault.web.dashboard_names import IDENTIFIERS, find_subject, usernames
from vault.web.i18n import LANGUAGES, messages
from vault.web.kiosk import FormData

__all__ = [
    "dashboard_acknowledge",
    "dashboard_disclosures",
    "dashboard_find",
    "dashboard_language",
    "dashboard_verify",
]

Identity = NamedDependency[IdentityService]
Policy = NamedDependency[PolicyEngine]
Log = NamedDependency[AuditLog]
Store = NamedDependency[Database]
Config = NamedDependency[Settings]
Blind = NamedDependency[BlindIndex]
Signing = NamedDependency[CurrentSigner]
Clock = NamedDependency[Callable[[], datetime]]


def _checked(
    request: Request[Any, Any, Any], identity: IdentityService, policy: PolicyEngine, data: Any
) -> Viewer | Redirect | Response[str]:
    """The viewer, after the session, ``audit.read`` and the CSRF token are checked."""
    viewer = viewer_of(request, identity, policy)
    if viewer is None:
        return redirect("/dashboard/login")
    t = messages(viewer.session.language)
    if not may_read(policy, viewer):
        return plain(t["login_role_refused"], 403)
    if not csrf_ok(viewer.session.csrf_token, data.get("csrf_token")):
        return plain(t["csrf_failed"], 403)
    return viewer


@post("/dashboard/language", opt=WEB_OPT, include_in_schema=False)
@threaded
def dashboard_language(
    request: Request[Any, Any, Any], data: FormData, identity: Identity, policy: Policy
) -> Redirect | Response[str]:
    """Switch the dashboard's language (Bahasa Indonesia by default, English)."""
    viewer = _checked(request, identity, policy, data)
    if not isinstance(viewer, Viewer):
        return viewer
    wanted = field(data, "language", 8)
    if wanted in LANGUAGES:
        web_sessions(services_of(request)).update(viewer.session.id, language=wanted)
    return redirect("/dashboard")


@post("/dashboard/find", opt=WEB_OPT, include_in_schema=False)
@threaded
def dashboard_find(
    request: Request[Any, Any, Any],
    data: FormData,
    identity: Identity,
    policy: Policy,
    audit: Log,
    db: Store,
    blind_index: Blind,
) -> Redirect | Response[str]:
    """Find the organisation's subject by NIK or register number, then show its events.

    The number arrives in a posted form, is hashed through the blind index and
    forgotten: the audit event says only which kind of number was searched.
    """
    viewer = _checked(request, identity, policy, data)
    if not isinstance(viewer, Viewer):
        return viewer
    kind = field(data, "kind", 32)
    value = field(data, "identifier", 64)
    if kind not in IDENTIFIERS:
        return plain(messages(viewer.session.language)["bad_filter"], 422)
    found = find_subject(db, blind_index, viewer.principal.organization, kind, value)
    audit.append(
        AuditEvent.by(
            viewer.principal,
            EventAction.AUDIT_QUERY,
            Outcome.ALLOW,
            subject_id=found,
            details={"via": "dashboard", "by": kind, "found": found is not None},
        )
    )
    if found is None:
        return redirect("/dashboard?notfound=1")
    return redirect(f"/dashboard?subject={found}")


@post("/dashboard/alerts/{alert_id:str}/acknowledge", opt=WEB_OPT, include_in_schema=False)
@threaded
def dashboard_acknowledge(
    request: Request[Any, Any, Any],
    alert_id: Annotated[str, PathParameter()],
    data: FormData,
    identity: Identity,
    policy: Policy,
    audit: Log,
    db: Store,
    settings: Config,
    clock: Clock,
) -> Redirect | Response[str]:
    """Acknowledge an alert with a note (asks ``audit.alert_acknowledge``; audited)."""
    viewer = _checked(request, identity, policy, data)
    if not isinstance(viewer, Viewer):
        return viewer
    principal = viewer.principal
    facts = OperationFacts(target_org=principal.organization)
    if not policy.authorize(principal, Action.ACKNOWLEDGE_ALERT, facts).allowed:
        return plain(messages(viewer.session.language)["login_role_refused"], 403)
    note = field(data, "note", NOTE_MAX + 1)
    try:
        # Asks again knowing whose actions the alert is about (no self-acknowledgement).
        acknowledge(db, audit, policy, principal, alert_id, note, rules_from(settings), clock())
    except VaultError as exc:
        return plain(exc.detail, exc.status)
    return redirect("/dashboard#alerts-h")


@post("/dashboard/verify", opt=WEB_OPT, include_in_schema=False)
@threaded
def dashboard_verify(
    request: Request[Any, Any, Any],
    data: FormData,
    identity: Identity,
    policy: Policy,
    audit: Log,
    db: Store,
    signer: Signing,
) -> Redirect | Response[str]:
    """Verify the chain on from the last verified signed head and record the result (what
    the page shows afterwards); the whole chain is `vault audit verify --full`, a job."""
    viewer = _checked(request, identity, policy, data)
    if not isinstance(viewer, Viewer):
        return viewer
    report = verify_from_head(db.engine, audit.heads(), public_keys=signer.verification_keys())
    audit.append(
        AuditEvent.by(
            viewer.principal,
            EventAction.AUDIT_VERIFY,
            Outcome.ALLOW,
            details={
                "via": "dashboard",
                "ok": report.ok,
                "events": report.events,
                "first_bad_seq": report.first_bad_seq,
                "first_seq": report.first_seq,
                "full": report.full,
            },
        )
    )
    return redirect("/dashboard#chain-h")


@get("/dashboard/subjects/{subject_id:uuid}/disclosures", opt=WEB_OPT, include_in_schema=False)
@threaded
def dashboard_disclosures(
    request: Request[Any, Any, Any],
    subject_id: Annotated[uuid.UUID, PathParameter()],
    identity: Identity,
    policy: Policy,
    audit: Log,
    db: Store,
    clock: Clock,
) -> Template | Redirect | Response[str]:
    """The printable accounting of disclosures of one of the organisation's subjects.

    Another organisation's subject answers as a missing one. The report's digest
    is recorded in the audit log before the page is shown.
    """
    viewer = subject_report_viewer(request, subject_id, identity, policy, db)
    if not isinstance(viewer, Viewer):
        return viewer
    t = messages(viewer.session.language)
    report = disclosure_report(db, subject_id, clock())
    audit.append(
        AuditEvent.by(
            viewer.principal,
            EventAction.AUDIT_DISCLOSURES,
            Outcome.ALLOW,
            subject_id=subject_id,
            details={"via": "dashboard", "report_sha256": report.sha256},
        )
    )
    # Each listed read with its inclusion proof against a signed tree head, so a
    # lawyer or a court can check the list with tools/verify_log.py, without the vault.
    proofs = proofs_of(audit, report.seqs)
    return render(
        "dashboard/disclosures.html",
        viewer.session.language,
        session=viewer.session,
        title=t["disclosures_report"],
        report=report,
        names=usernames(db, {row.get("actor_id") for row in report.rows}),
        proofs=json.dumps(proofs, indent=1) if proofs and report.rows else None,
    )
