"""Charts that answer questions (``/dashboard/charts``): record reads of the officer's
organisation per reading organisation, per purpose and per role, refused beside
allowed, and break-glass grants opened per month.

Server-drawn SVG (``vault.web.chart_bars``) with a table of the same numbers
behind each chart, in the dashboard's language. The page asks ``audit.read``
like every dashboard page and is audited as a query.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.response import Redirect, Template
from markupsafe import Markup

from vault.access.engine import PolicyEngine
from vault.audit.events import AuditEvent, Outcome
from vault.audit.log import AuditLog
from vault.config import Settings
from vault.db import Database
from vault.identity.service import IdentityService
from vault.vocabulary import EventAction
from vault.web.chart_bars import grouped_bars, month_bars
from vault.web.common import SECURITY_HEADERS, WEB_OPT, redirect, render, threaded
from vault.web.dashboard_access import may_read, viewer_of
from vault.web.i18n import messages
from vault.workbench.charts import Bar, chart_counts

__all__ = ["CHART_HANDLERS"]

Identity = NamedDependency[IdentityService]
Policy = NamedDependency[PolicyEngine]
Log = NamedDependency[AuditLog]
Store = NamedDependency[Database]
Config = NamedDependency[Settings]
Clock = NamedDependency[Callable[[], datetime]]


def _svg(bars: list[Bar], chart_id: str, title: str, t: Any) -> Markup:
    rows = [(b.label, b.allowed, b.denied) for b in bars]
    drawn = grouped_bars(
        rows, chart_id=chart_id, title=title, allowed_label=t["allowed"], denied_label=t["denied"]
    )
    return Markup(drawn)  # noqa: S704  (built from numbers and escaped text only, vault.web.chart_bars)


@get("/dashboard/charts", opt=WEB_OPT, include_in_schema=False)
@threaded
def charts_page(
    request: Request[Any, Any, Any],
    identity: Identity,
    policy: Policy,
    audit: Log,
    db: Store,
    clock: Clock,
    settings: Config,
) -> Template | Redirect | Response[str]:
    """Reads per organisation, purpose and role, and break-glass per month, with tables."""
    viewer = viewer_of(request, identity, policy)
    if viewer is None:
        return redirect("/dashboard/login")
    t = messages(viewer.session.language)
    if not may_read(policy, viewer):
        return Response(
            t["login_role_refused"],
            status_code=403,
            media_type="text/plain",
            headers=SECURITY_HEADERS,
        )
    audit.append(
        AuditEvent.by(
            viewer.principal, EventAction.AUDIT_QUERY, Outcome.ALLOW, details={"via": "charts"}
        )
    )
    days = settings.alert_window_days
    counts = chart_counts(db, viewer.principal.organization, clock(), days=days)
    charts = [
        ("per-org", t["chart_per_organization"], counts.organizations, t["chart_organization"]),
        ("per-purpose", t["chart_per_purpose"], counts.purposes, t["chart_purpose"]),
        ("per-role", t["chart_per_role"], counts.roles, t["role"]),
    ]
    return render(
        "dashboard/charts.html",
        viewer.session.language,
        session=viewer.session,
        title=t["open_charts"],
        days=days,
        counts=counts,
        charts=[
            (cid, title, _svg(bars, cid, title, t), bars, head) for cid, title, bars, head in charts
        ],
        glass_svg=Markup(  # noqa: S704  (built from numbers and escaped text only, vault.web.chart_bars)
            month_bars(counts.break_glass, chart_id="glass", title=t["chart_break_glass_month"])
        ),
    )


CHART_HANDLERS = [charts_page]
