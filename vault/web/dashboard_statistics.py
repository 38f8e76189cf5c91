"""The outcome statistics on the dashboard (``/dashboard/statistics``): the k-anonymous
table of ``vault.statistics`` as a server-drawn chart and as a table.

Whoever opens the dashboard (``dashboard.open``) and may read the statistics
(``statistics.read``, ``policies/statistics.cedar``) sees their own
organisation's table; the statistics service asks and audits. A suppressed
cell is drawn and listed as suppressed, with no number.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.response import Redirect, Template
from markupsafe import Markup

from vault.access.engine import PolicyEngine
from vault.errors import Forbidden
from vault.identity.service import IdentityService
from vault.statistics.service import StatisticsService
from vault.web.common import SECURITY_HEADERS, WEB_OPT, redirect, render, threaded
from vault.web.dashboard_access import viewer_of
from vault.web.i18n import messages
from vault.web.statistics_chart import statistics_chart

__all__ = ["dashboard_statistics"]


@get("/dashboard/statistics", opt=WEB_OPT, include_in_schema=False)
@threaded
def dashboard_statistics(
    request: Request[Any, Any, Any],
    identity: NamedDependency[IdentityService],
    policy: NamedDependency[PolicyEngine],
    statistics: NamedDependency[StatisticsService],
) -> Template | Redirect | Response[str]:
    """The organisation's outcome statistics, for those the policies let read them."""
    viewer = viewer_of(request, identity, policy)
    if viewer is None:
        return redirect("/dashboard/login")
    t = messages(viewer.session.language)
    try:
        table = statistics.outcomes(viewer.principal)
    except Forbidden:
        return Response(
            t["login_role_refused"],
            status_code=403,
            media_type="text/plain",
            headers=SECURITY_HEADERS,
        )
    labels = {
        "title": t["outcome_statistics"],
        "completion": t["completion"],
        "employment": t["employment"],
        "reoffending": t["reoffending"],
        "suppressed": t["suppressed"],
        "all": t["all_values"],
    }
    chart = statistics_chart(table["cells"], labels)
    return render(
        "dashboard/statistics.html",
        viewer.session.language,
        session=viewer.session,
        title=t["outcome_statistics"],
        chart=Markup(chart),  # noqa: S704  (built from numbers and escaped text only, vault.web.statistics_chart)
        table=table,
    )
