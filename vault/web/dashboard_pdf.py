"""The accounting of disclosures as a PDF download (``/dashboard/subjects/{id}/disclosures.pdf``).

The same gate as the printable page: the viewer is re-checked, ``audit.read``
is asked, another organisation's subject answers as a missing one. Before any
byte is sent, an ``audit.disclosures`` event records the report's digest and
the SHA-256 of the PDF itself, so a copy handed over can be checked against the log.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import PathParameter
from litestar.response import Redirect

from vault.access.engine import PolicyEngine
from vault.audit.events import AuditEvent, Outcome
from vault.audit.log import AuditLog
from vault.audit.proofs import proofs_of
from vault.audit.report import disclosure_report
from vault.db import Database
from vault.identity.service import IdentityService
from vault.vocabulary import EventAction
from vault.web.common import SECURITY_HEADERS, WEB_OPT, threaded
from vault.web.dashboard_access import Viewer, subject_report_viewer
from vault.web.dashboard_names import usernames
from vault.web.i18n import messages
from vault.workbench.disclosure_pdf import disclosure_pdf

__all__ = ["PDF_HANDLERS"]

Identity = NamedDependency[IdentityService]
Policy = NamedDependency[PolicyEngine]
Log = NamedDependency[AuditLog]
Store = NamedDependency[Database]
Clock = NamedDependency[Callable[[], datetime]]


@get("/dashboard/subjects/{subject_id:uuid}/disclosures.pdf", opt=WEB_OPT, include_in_schema=False)
@threaded
def disclosures_pdf(
    request: Request[Any, Any, Any],
    subject_id: Annotated[uuid.UUID, PathParameter()],
    identity: Identity,
    policy: Policy,
    audit: Log,
    db: Store,
    clock: Clock,
) -> Response[bytes] | Response[str] | Redirect:
    """The report as PDF, in the dashboard's language; its hashes are audited first."""
    viewer = subject_report_viewer(request, subject_id, identity, policy, db)
    if not isinstance(viewer, Viewer):
        return viewer
    t = messages(viewer.session.language)
    report = disclosure_report(db, subject_id, clock())
    names = usernames(db, {row.get("actor_id") for row in report.rows})
    proofs = proofs_of(audit, report.seqs)
    pdf = disclosure_pdf(report, names, t, proofs)
    audit.append(
        AuditEvent.by(
            viewer.principal,
            EventAction.AUDIT_DISCLOSURES,
            Outcome.ALLOW,
            subject_id=subject_id,
            details={
                "via": "dashboard",
                "format": "pdf",
                "report_sha256": report.sha256,
                "pdf_sha256": pdf.sha256,
            },
        )
    )
    return Response(
        pdf.content,
        media_type="application/pdf",
        headers={
            **SECURITY_HEADERS,
            "Content-Disposition": f'attachment; filename="disclosures-{subject_id}.pdf"',
        },
    )


PDF_HANDLERS = [disclosures_pdf]
