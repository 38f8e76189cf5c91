"""Role checks for handlers: ``require_roles(request, Role.ADMIN)``.

A role check is the coarse gate at the door; decisions about a subject's data
are taken by ``vault.access.engine.PolicyEngine``.
"""

from __future__ import annotations

from typing import Any

from litestar import Request

from vault.errors import Forbidden
from vault.http.auth import AuthenticatedUser, caller
from vault.vocabulary import Role


def require_roles(request: Request[Any, Any, Any], *roles: Role) -> AuthenticatedUser:
    """The caller, if their role is one of ``roles``; else Forbidden (401 if not logged in)."""
    user = caller(request)
    if user.role not in {role.value for role in roles}:
        allowed = ", ".join(sorted(role.value for role in roles))
        raise Forbidden(f"This needs one of the roles: {allowed}.")
    return user
