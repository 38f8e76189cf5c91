"""HTTP API of identity: login, logout, the caller, users, TOTP enrolment."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from vault.errors import Conflict, Forbidden, InvalidInput, NotFound, RateLimited
from vault.http.auth import caller
from vault.http.problems import problem_responses
from vault.identity.service import IdentityService, UserView
from vault.identity.standing import AccountStatus

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


class MeOut(msgspec.Struct):
    id: uuid.UUID
    username: str
    role: str
    organization: str


class UserOut(msgspec.Struct):
    """An account: ``status`` is pending (waiting for a second person), active or disabled."""

    id: uuid.UUID
    username: str
    role: str
    organization: str
    status: str
    active: bool
    disabled: bool
    mfa_enabled: bool
    created_by: uuid.UUID | None
    approved_by: uuid.UUID | None


class ApprovedOut(UserOut):
    """The approved account and the code its holder activates it with (shown only here)."""

    activation_code: str


class ActivateIn(msgspec.Struct, forbid_unknown_fields=True):
    username: Username
    password: Password  # the first password, typed by the account's creator
    activation_code: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    new_password: Password

    def __repr__(self) -> str:
        return "ActivateIn(<redacted>)"


class UserListOut(msgspec.Struct):
    users: list[UserOut]


class TotpStartOut(msgspec.Struct):
    secret: str
    provisioning_uri: str


class TotpConfirmIn(msgspec.Struct, forbid_unknown_fields=True):
    code: Annotated[str, msgspec.Meta(min_length=6, max_length=6, pattern=r"^[0-9]{6}$")]


def _user_out(view: UserView) -> UserOut:
    return UserOut(
        id=view.id,
        username=view.username,
        role=view.role,
        organization=view.organization,
        status=view.status.value,
        active=view.active,
        disabled=view.disabled,
        mfa_enabled=view.mfa_enabled,
        created_by=view.created_by,
        approved_by=view.approved_by,
    )


# Injected by name (vault.app.service_dependencies): services.identity.
Identity = NamedDependency[IdentityService]
UserId = Annotated[uuid.UUID, Parameter(description="user id")]
StatusQuery = Annotated[
    AccountStatus | None,
    QueryParameter(required=False, description="only accounts with this status"),
]


@post(
    "/v1/auth/login",
    opt={
        "exclude_from_auth": True,
        "asks_nothing": "the login itself: anyone may try, limits and audit apply",
    },
    sync_to_thread=True,
    status_code=HTTP_200_OK,
    tags=["auth"],
    security=[],
    responses=problem_responses(InvalidInput, RateLimited),
)
def login(identity: Identity, data: JSONBody[LoginIn]) -> TokenOut:
    """Exchange a username, password (and TOTP code where required) for a bearer token."""
    issued = identity.login(data.username, data.password, data.totp)
    return TokenOut(
        access_token=issued.access_token, token_type=TOKEN_TYPE, expires_in=issued.expires_in
    )


@post(
    "/v1/auth/logout",
    opt={"asks_nothing": "ends the caller's own token only"},
    sync_to_thread=True,
    status_code=HTTP_204_NO_CONTENT,
    tags=["auth"],
    responses=problem_responses(),
)
def logout(request: Request[Any, Any, Any], identity: Identity) -> None:
    """Revoke the token of this request."""
    identity.logout(caller(request))


@get(
    "/v1/me",
    opt={"asks_nothing": "the caller's own account, nothing of anyone else"},
    sync_to_thread=False,
    tags=["auth"],
    responses=problem_responses(),
)
def me(request: Request[Any, Any, Any]) -> MeOut:
    """Who the token belongs to."""
    user = caller(request)
    return MeOut(id=user.id, username=user.username, role=user.role, organization=user.organization)


@post(
    "/v1/me/totp",
    opt={"asks_nothing": "the caller's own second factor only"},
    sync_to_thread=True,
    status_code=HTTP_201_CREATED,
    tags=["auth"],
    responses=problem_responses(Conflict),
)
def start_totp(request: Request[Any, Any, Any], identity: Identity) -> TotpStartOut:
    """Start TOTP enrolment: returns the secret once; confirm it with a code to turn it on."""
    enrolment = identity.start_totp(caller(request).id)
    return TotpStartOut(secret=enrolment.secret, provisioning_uri=enrolment.provisioning_uri)


@post(
    "/v1/me/totp/confirm",
    opt={"asks_nothing": "the caller's own second factor only"},
    sync_to_thread=True,
    status_code=HTTP_204_NO_CONTENT,
    tags=["auth"],
    responses=problem_responses(InvalidInput, Conflict),
)
def confirm_totp(
    request: Request[Any, Any, Any], identity: Identity, data: JSONBody[TotpConfirmIn]
) -> None:
    """Turn TOTP on with a current code from the authenticator."""
    identity.confirm_totp(caller(request).id, data.code)


@post(
    "/v1/users",
    sync_to_thread=True,
    status_code=HTTP_201_CREATED,
    tags=["users"],
    responses=problem_responses(Forbidden, InvalidInput, NotFound, Conflict),
)
def create_user(
    request: Request[Any, Any, Any], identity: Identity, data: JSONBody[UserIn]
) -> UserOut:
    """Create an account in your organisation (user.create); it is pending until approved."""
    view = identity.create_user(
        data.username, data.password, data.role, data.organization, actor=caller(request)
    )
    return _user_out(view)


@get(
    "/v1/users",
    sync_to_thread=True,
    tags=["users"],
    responses=problem_responses(Forbidden, InvalidInput, NotFound),
)
def list_users(
    request: Request[Any, Any, Any], identity: Identity, status: StatusQuery = None
) -> UserListOut:
    """The accounts of your organisation (user.view); ``?status=pending`` lists those to approve."""
    views = identity.users(caller(request), status)
    return UserListOut(users=[_user_out(view) for view in views])


@get(
    "/v1/users/{user_id:uuid}",
    sync_to_thread=True,
    tags=["users"],
    responses=problem_responses(Forbidden, NotFound),
)
def get_user(request: Request[Any, Any, Any], identity: Identity, user_id: UserId) -> UserOut:
    """One account of your organisation (user.view)."""
    return _user_out(identity.user(user_id, actor=caller(request)))


@post(
    "/v1/users/{user_id:uuid}/approve",
    sync_to_thread=True,
    status_code=HTTP_200_OK,
    tags=["users"],
    responses=problem_responses(Forbidden, NotFound, Conflict),
)
def approve_user(
    request: Request[Any, Any, Any], identity: Identity, user_id: UserId
) -> ApprovedOut:
    """Approve a pending account as its second person (user.approve). Hand the returned
    activation code to the account's holder: with it and the first password they activate
    the account, choosing their own password."""
    approved = identity.approve_user(user_id, caller(request))
    out = _user_out(approved.user)
    fields = {name: getattr(out, name) for name in out.__struct_fields__}
    return ApprovedOut(**fields, activation_code=approved.activation_code)


@post(
    "/v1/auth/activate",
    opt={
        "exclude_from_auth": True,
        "asks_nothing": "the holder's first act: first password and activation code, "
        "limits and audit apply",
    },
    sync_to_thread=True,
    status_code=HTTP_200_OK,
    tags=["auth"],
    security=[],
    responses=problem_responses(InvalidInput, RateLimited),
)
def activate(identity: Identity, data: JSONBody[ActivateIn]) -> UserOut:
    """Activate an approved account with its first password and the approver's activation
    code, choosing a new password; then log in with that password."""
    return _user_out(
        identity.activate(data.username, data.password, data.activation_code, data.new_password)
    )


@post(
    "/v1/users/{user_id:uuid}/disable",
    sync_to_thread=True,
    status_code=HTTP_200_OK,
    tags=["users"],
    responses=problem_responses(Forbidden, NotFound, Conflict),
)
def disable_user(request: Request[Any, Any, Any], identity: Identity, user_id: UserId) -> UserOut:
    """Disable an account (user.disable): its tokens and browser sessions end at once."""
    return _user_out(identity.disable_user(user_id, actor=caller(request)))


HANDLERS = [
    login,
    activate,
    logout,
    me,
    start_totp,
    confirm_totp,
    create_user,
    list_users,
    get_user,
    approve_user,
    disable_user,
]
