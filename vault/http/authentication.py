"""The authentication middleware: every route needs a bearer token unless its
handler says ``opt={"exclude_from_auth": True}``.

Exclusions are by handler option, never by unanchored path pattern (a pattern
``/login`` would also open ``/records/login-history``). The only path pattern
is the OpenAPI document, anchored at both ends. A handler with
``opt={"bearer_checked_in_read": True}`` (the record read) still needs the
token, but checks it inside its own store read (``vault.identity.bearer``).
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

    def bearer_check(self, bearer: str) -> object: ...


class _Services(Protocol):
    """What the middleware needs of the vault's services (``vault.services.Services``)."""

    @property
    def inline_store_work(self) -> bool: ...

    @property
    def identity(self) -> _TokenChecker: ...


EXCLUDE_OPT_KEY = "exclude_from_auth"
# A handler with this option checks the token itself, inside the store read it makes
# (``vault.identity.bearer``): it gets ``request.user`` as a check to run, never as a
# user, so ``caller(request)`` refuses it and a handler that forgets the check fails.
CHECKED_IN_READ_OPT_KEY = "bearer_checked_in_read"
# The OpenAPI document describes the public contract and holds nothing secret.
OPEN_PATH_PATTERNS = [r"^/schema(/[A-Za-z0-9._-]*)?$"]


class BearerTokenMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:  # type: ignore[type-arg]  # any app, any state
        header = connection.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise AuthenticationFailed("A valid bearer token is required.")
        services: _Services = connection.app.state.services
        if connection.route_handler.opt.get(CHECKED_IN_READ_OPT_KEY):
            return AuthenticationResult(
                user=services.identity.bearer_check(value.strip()), auth=None
            )
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
