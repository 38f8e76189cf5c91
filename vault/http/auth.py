"""Who is calling: the contract between the authentication middleware and handlers.

The middleware (``vault.identity.auth``) resolves the bearer token and puts an
``AuthenticatedUser`` in ``request.user``; handlers call ``caller(request)``.
Routes open to anyone say so with ``opt={"exclude_from_auth": True}``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from litestar import Request

from vault.errors import AuthenticationFailed

if TYPE_CHECKING:
    from vault.access.model import Principal


@dataclass(frozen=True)
class AuthenticatedUser:
    id: uuid.UUID
    username: str
    role: str
    organization: str
    token_id: uuid.UUID

    def principal(self) -> Principal:
        from vault.access.model import Principal, Role

        return Principal(id=self.id, role=Role(self.role), organization=self.organization)


def caller(request: Request[Any, Any, Any]) -> AuthenticatedUser:
    user = request.scope.get("user")
    if not isinstance(user, AuthenticatedUser):
        raise AuthenticationFailed("A valid bearer token is required.")
    return user
