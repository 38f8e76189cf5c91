"""HTTP API of identity: login, logout, the caller, users, TOTP enrolment."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from vault.errors import Conflict, Forbidden, InvalidInput, NotFound, RateLimited
from vault.http.auth import caller
from vault.http.guards import require_roles
from vault.http.problems import problem_responses
from vault.identity.service import UserView
from vault.services import Services
from vault.vocabulary import Role

Username = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
TOKEN_TYPE = "bearer"  # noqa: S105  (the scheme name of RFC 6750, not a secret)
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class LoginIn(msgspec.Struct, forbid_unknown_fields=True):
    username: Username
    password: Password
    totp: Annotated[str, msgspec.Meta(max_length=16)] | None = None

    def __repr__(self) -> str:  # the password never reaches a log through repr
        return "LoginIn(<redacted>)"


class TokenOut(msgspec.Struct):
    access_token: str
    token_type: str
    expires_in: int


class UserIn(msgspec.Struct, forbid_unknown_fields=True):
    username: Username
    password: Password
    role: Code
    organization: Code

    def __repr__(self) -> str:
        return f"UserIn(username={self.username!r}, role={self.role!r}, password=<redacted>)"


class UserOut(msgspec.Struct):
    id: uuid.UUID
    username: str
    role: str
    organization: str


class UserDetailOut(msgspec.Struct):
    id: uuid.UUID
    username: str
    role: str
    organization: str
    disabled: bool
    mfa_enabled: bool


class TotpStartOut(msgspec.Struct):
    secret: str
    provisioning_uri: str


class TotpConfirmIn(msgspec.Struct, forbid_unknown_fields=True):
    code: Annotated[str, msgspec.Meta(min_length=6, max_length=6, pattern=r"^[0-9]{6}$")]


def _services(request: Request[Any, Any, Any]) -> Services:
    services: Services = request.app.state.services
    return services


def _user_out(view: UserView) -> UserOut:
    return UserOut(
        id=view.id, username=view.username, role=view.role, organization=view.organization
    )


@post(
    "/v1/auth/login",
    opt={"exclude_from_auth": True},
    sync_to_thread=True,
    status_code=HTTP_200_OK,
    tags=["auth"],
    security=[],
    responses=problem_responses(InvalidInput, RateLimited),
)
def login(request: Request[Any, Any, Any], data: JSONBody[LoginIn]) -> TokenOut:
    """Exchange a username, password (and TOTP code where required) for a bearer token."""
    issued = _services(request).identity.login(data.username, data.password, data.totp)
    return TokenOut(
        access_token=issued.access_token, token_type=TOKEN_TYPE, expires_in=issued.expires_in
    )


@post(
    "/v1/auth/logout",
    sync_to_thread=True,
    status_code=HTTP_204_NO_CONTENT,
    tags=["auth"],
    responses=problem_responses(),
)
def logout(request: Request[Any, Any, Any]) -> None:
    """Revoke the token of this request."""
    _services(request).identity.logout(caller(request))


@get("/v1/me", sync_to_thread=False, tags=["auth"], responses=problem_responses())
def me(request: Request[Any, Any, Any]) -> UserOut:
    """Who the token belongs to."""
    user = caller(request)
    return UserOut(
        id=user.id, username=user.username, role=user.role, organization=user.organization
    )


@post(
    "/v1/me/totp",
    sync_to_thread=True,
    status_code=HTTP_201_CREATED,
    tags=["auth"],
    responses=problem_responses(Conflict),
)
def start_totp(request: Request[Any, Any, Any]) -> TotpStartOut:
    """Start TOTP enrolment: returns the secret once; confirm it with a code to turn it on."""
    enrolment = _services(request).identity.start_totp(caller(request).id)
    return TotpStartOut(secret=enrolment.secret, provisioning_uri=enrolment.provisioning_uri)


@post(
    "/v1/me/totp/confirm",
    sync_to_thread=True,
    status_code=HTTP_204_NO_CONTENT,
    tags=["auth"],
    responses=problem_responses(InvalidInput, Conflict),
)
def confirm_totp(request: Request[Any, Any, Any], data: JSONBody[TotpConfirmIn]) -> None:
    """Turn TOTP on with a current code from the authenticator."""
    _services(request).identity.confirm_totp(caller(request).id, data.code)


@post(
    "/v1/users",
    sync_to_thread=True,
    status_code=HTTP_201_CREATED,
    tags=["users"],
    responses=problem_responses(Forbidden, InvalidInput, Conflict),
)
def create_user(request: Request[Any, Any, Any], data: JSONBody[UserIn]) -> UserOut:
    """Create a user (admin)."""
    actor = require_roles(request, Role.ADMIN)
    view = _services(request).identity.create_user(
        data.username, data.password, data.role, data.organization, actor=actor
    )
    return _user_out(view)


@get(
    "/v1/users/{user_id:uuid}",
    sync_to_thread=True,
    tags=["users"],
    responses=problem_responses(Forbidden, NotFound),
)
def get_user(
    request: Request[Any, Any, Any], user_id: Annotated[uuid.UUID, Parameter(description="user id")]
) -> UserDetailOut:
    """One user (admin)."""
    require_roles(request, Role.ADMIN)
    view = _services(request).identity.user(user_id)
    return UserDetailOut(**{f: getattr(view, f) for f in UserDetailOut.__struct_fields__})


@post(
    "/v1/users/{user_id:uuid}/disable",
    sync_to_thread=True,
    status_code=HTTP_200_OK,
    tags=["users"],
    responses=problem_responses(Forbidden, NotFound, Conflict),
)
def disable_user(
    request: Request[Any, Any, Any], user_id: Annotated[uuid.UUID, Parameter(description="user id")]
) -> UserDetailOut:
    """Disable a user (admin): every token they hold stops working at once."""
    actor = require_roles(request, Role.ADMIN)
    view = _services(request).identity.disable_user(user_id, actor=actor)
    return UserDetailOut(**{f: getattr(view, f) for f in UserDetailOut.__struct_fields__})


HANDLERS = [login, logout, me, start_totp, confirm_totp, create_user, get_user, disable_user]
