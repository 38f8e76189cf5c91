"""Who is calling: the contract between the authentication middleware and handlers.

The middleware (``vault.http.authentication``) resolves the bearer token and puts an
``AuthenticatedUser`` (``vault.vocabulary``) in ``request.user``; handlers call
``caller(request)``. Routes open to anyone say so with
``opt={"exclude_from_auth": True}``.
"""

from __future__ import annotations

from typing import Any

from litestar import Request

from vault.errors import AuthenticationFailed
from vault.vocabulary import AuthenticatedUser

__all__ = ["AuthenticatedUser", "caller"]


def caller(request: Request[Any, Any, Any]) -> AuthenticatedUser:
    user = request.scope.get("user")
    if not isinstance(user, AuthenticatedUser):
        raise AuthenticationFailed("A valid bearer token is required.")
    return user
