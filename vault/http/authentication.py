"""The authentication middleware: every route needs a bearer token unless its
handler says ``opt={"exclude_from_auth": True}``.

Exclusions are by handler option, never by unanchored path pattern (a pattern
``/login`` would also open ``/records/login-history``). The only path pattern
is the OpenAPI document, anchored at both ends.
"""

from __future__ import annotations

from functools import partial
from typing import Protocol

from litestar.connection import ASGIConnection
from litestar.middleware import DefineMiddleware
from litestar.middleware.authentication import (
    AbstractAuthenticationMiddleware,
    AuthenticationResult,
)

from vault.errors import AuthenticationFailed
from vault.threads import run_store_work
from vault.vocabulary import AuthenticatedUser


class _TokenChecker(Protocol):
    def authenticate(self, bearer: str) -> AuthenticatedUser: ...


class _Services(Protocol):
    """What the middleware needs of the vault's services (``vault.services.Services``)."""

    @property
    def inline_store_work(self) -> bool: ...

    @property
    def identity(self) -> _TokenChecker: ...


EXCLUDE_OPT_KEY = "exclude_from_auth"
# The OpenAPI document describes the public contract and holds nothing secret.
OPEN_PATH_PATTERNS = [r"^/schema(/[A-Za-z0-9._-]*)?$"]


class BearerTokenMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:  # type: ignore[type-arg]  # any app, any state
        header = connection.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise AuthenticationFailed("A valid bearer token is required.")
        services: _Services = connection.app.state.services
        # One indexed lookup: on the loop for an embedded store, else in a thread.
        user = await run_store_work(
            services.inline_store_work, partial(services.identity.authenticate, value.strip())
        )
        return AuthenticationResult(user=user, auth=user.token_id)


def authentication_middleware() -> DefineMiddleware:
    return DefineMiddleware(
        BearerTokenMiddleware,
        exclude=OPEN_PATH_PATTERNS,
        exclude_from_auth_key=EXCLUDE_OPT_KEY,
    )
