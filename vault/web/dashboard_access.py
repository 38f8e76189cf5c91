"""Who may see the compliance dashboard: asked of the identity service and the policies.

At login (``vault.web.common.check_staff_login``) and again on every request
here: the account as the identity service knows it now (not disabled, still in
the organisation the session was opened for), then ``dashboard.open`` for that
organisation (``policies/audit.cedar``). A role or organisation remembered in
the browser session is never trusted.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response
from litestar.response import Redirect

from vault.access.engine import PolicyEngine
from vault.audit.scope import subject_org
from vault.db import Database
from vault.errors import NotFound
from vault.identity.service import IdentityService, UserView
from vault.vocabulary import Action, OperationFacts, Principal, Role
from vault.web.common import (
    DASHBOARD_COOKIE,
    plain,
    redirect,
    services_of,
    web_sessions,
)
from vault.web.i18n import messages
from vault.web.sessions import ActiveSession, SessionKind


@dataclass(frozen=True)
class Viewer:
    """A dashboard session whose account the identity service and the policies accept now."""

    session: ActiveSession
    principal: Principal


def _principal(account: UserView) -> Principal | None:
    try:
        return Principal(id=account.id, role=Role(account.role), organization=account.organization)
    except ValueError:
        return None  # a role the vault does not know opens nothing


def _may_open(policy: PolicyEngine, principal: Principal) -> bool:
    facts = OperationFacts(target_org=principal.organization)
    return policy.authorize(principal, Action.OPEN_DASHBOARD, facts).allowed


def viewer_of(
    request: Request[Any, Any, Any], identity: IdentityService, policy: PolicyEngine
) -> Viewer | None:
    """The viewer of this request, re-checked now; None sends them to the login page."""
    session = web_sessions(services_of(request)).resolve(
        request.cookies.get(DASHBOARD_COOKIE), SessionKind.DASHBOARD
    )
    if session is None:
        return None
    try:
        account = identity.user(session.user_id)
    except NotFound:
        return None
    # A disabled account, or one moved to another organisation since login, opens nothing.
    if account.disabled or account.organization != session.organization:
        return None
    principal = _principal(account)
    if principal is None or not _may_open(policy, principal):
        return None
    return Viewer(session, principal)


def may_read(policy: PolicyEngine, viewer: Viewer) -> bool:
    """``audit.read`` of the viewer's own organisation: what every page with events asks."""
    principal = viewer.principal
    facts = OperationFacts(target_org=principal.organization)
    return policy.authorize(principal, Action.READ_AUDIT, facts).allowed


def subject_report_viewer(
    request: Request[Any, Any, Any],
    subject_id: uuid.UUID,
    identity: IdentityService,
    policy: PolicyEngine,
    db: Database,
) -> Viewer | Response[str] | Redirect:
    """The viewer of a subject's accounting of disclosures (page or PDF), or the answer
    that turns them away: the login page, 403 without ``audit.read``, and another
    organisation's subject as a missing one."""
    viewer = viewer_of(request, identity, policy)
    if viewer is None:
        return redirect("/dashboard/login")
    t = messages(viewer.session.language)
    if not may_read(policy, viewer):
        return plain(t["login_role_refused"], 403)
    if subject_org(db, subject_id) != viewer.principal.organization:
        return plain(t["subject_not_found"], 404)
    return viewer
