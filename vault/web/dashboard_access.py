"""Who may see the compliance dashboard: asked of the identity service and the policies.

At login (``vault.web.common.check_staff_login``) and again on every request
here: the account as the identity service knows it now (not disabled, still in
the organisation the session was opened for), then ``dashboard.open`` for that
organisation (``policies/audit.cedar``). A role or organisation remembered in
the browser session is never trusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request

from vault.access.engine import PolicyEngine
from vault.errors import NotFound
from vault.identity.service import IdentityService, UserView
from vault.vocabulary import Action, OperationFacts, Principal, Role
from vault.web.common import (
    DASHBOARD_COOKIE,
    services_of,
    web_sessions,
)
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
