"""The access review on the dashboard (``/dashboard/review``): every active account and
care-team assignment of the officer's organisation, each to be confirmed or ended.

The page asks ``audit.read`` like every dashboard page; each decision asks the
policies again in ``vault.workbench.review.AccessReview`` (``access_review.confirm``
or ``access_review.end``, then the ordinary operation that ends it), checks the
form's CSRF token and is audited. Viewing the list is audited as a query.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter
from litestar.response import Redirect, Template

from vault.access.engine import PolicyEngine
from vault.access.service import AccessService
from vault.audit.events import AuditEvent, Outcome
from vault.audit.log import AuditLog
from vault.config import Settings
from vault.db import Database
from vault.errors import VaultError
from vault.identity.service import IdentityService
from vault.vocabulary import AuthenticatedUser, EventAction
from vault.web.common import WEB_OPT, csrf_ok, field, plain, redirect, render, threaded
from vault.web.dashboard_access import Viewer, may_read, viewer_of
from vault.web.i18n import messages
from vault.web.kiosk import FormData
from vault.workbench.review import KINDS, AccessReview

__all__ = ["REVIEW_HANDLERS", "review_of"]

Identity = NamedDependency[IdentityService]
Policy = NamedDependency[PolicyEngine]
Log = NamedDependency[AuditLog]
Store = NamedDependency[Database]
Access = NamedDependency[AccessService]
Config = NamedDependency[Settings]
Clock = NamedDependency[Callable[[], datetime]]
# A page past the last shows the last one.
PageNumber = Annotated[int, QueryParameter(ge=1, le=1_000_000)]


def review_of(
    db: Database,
    audit: AuditLog,
    policy: PolicyEngine,
    identity: IdentityService,
    access: AccessService,
    clock: Callable[[], datetime],
    settings: Settings,
) -> AccessReview:
    return AccessReview(db, audit, policy, identity, access, clock, settings.access_review_days)


def _reader(
    request: Request[Any, Any, Any], identity: IdentityService, policy: PolicyEngine
) -> Viewer | Redirect | Response[str]:
    viewer = viewer_of(request, identity, policy)
    if viewer is None:
        return redirect("/dashboard/login")
    if not may_read(policy, viewer):
        return plain(messages(viewer.session.language)["login_role_refused"], 403)
    return viewer


@get("/dashboard/review", opt=WEB_OPT, include_in_schema=False)
@threaded
def review_page(
    request: Request[Any, Any, Any],
    identity: Identity,
    policy: Policy,
    audit: Log,
    db: Store,
    access: Access,
    clock: Clock,
    settings: Config,
    page: PageNumber = 1,
) -> Template | Redirect | Response[str]:
    """One page of the items under review, overdue ones first, with confirm and end buttons."""
    viewer = _reader(request, identity, policy)
    if not isinstance(viewer, Viewer):
        return viewer
    review = review_of(db, audit, policy, identity, access, clock, settings)
    audit.append(
        AuditEvent.by(
            viewer.principal,
            EventAction.AUDIT_QUERY,
            Outcome.ALLOW,
            details={"via": "access_review"},
        )
    )
    shown = review.page(viewer.principal, page, settings.access_review_page_size)
    return render(
        "dashboard/review.html",
        viewer.session.language,
        session=viewer.session,
        title=messages(viewer.session.language)["access_review"],
        items=shown.items,
        shown=shown,
        me=viewer.principal.id,
        days=settings.access_review_days,
    )


@post("/dashboard/review/{kind:str}/{target_id:uuid}", opt=WEB_OPT, include_in_schema=False)
@threaded
def review_decide(
    request: Request[Any, Any, Any],
    kind: Annotated[str, PathParameter(max_length=16)],
    target_id: Annotated[uuid.UUID, PathParameter()],
    data: FormData,
    identity: Identity,
    policy: Policy,
    audit: Log,
    db: Store,
    access: Access,
    clock: Clock,
    settings: Config,
) -> Redirect | Response[str]:
    """Confirm or end one account or assignment (asked of the policies; audited)."""
    viewer = _reader(request, identity, policy)
    if not isinstance(viewer, Viewer):
        return viewer
    session = viewer.session
    if not csrf_ok(session.csrf_token, data.get("csrf_token")):
        return plain(messages(session.language)["csrf_failed"], 403)
    if kind not in KINDS:
        return plain(messages(session.language)["review_not_found"], 404)
    reviewer = AuthenticatedUser(
        id=session.user_id,
        username=session.username,
        role=viewer.principal.role.value,
        organization=viewer.principal.organization,
        token_id=session.id,
    )
    review = review_of(db, audit, policy, identity, access, clock, settings)
    try:
        review.decide(reviewer, kind, target_id, field(data, "decision", 16))
    except VaultError as exc:
        if exc.status == 404:
            return plain(messages(session.language)["review_not_found"], 404)
        return plain(exc.detail, exc.status)
    return redirect("/dashboard/review")


REVIEW_HANDLERS = [review_page, review_decide]
