"""Tables of organisations, users, bearer tokens and failed logins.

A token is stored only as the SHA-256 of its value: the database alone never
lets anyone act as a user. Failed logins are rows, not process memory, so every
worker process counts the same attempts.
"""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlmodel import Field

from vault.stamps import Stamped, utc_field


class Agency(StrEnum):
    IMIPAS = "imipas"  # prisons and detention centres (lapas, rutan)
    KEMENSOS = "kemensos"  # social affairs centres (sentra)


class Organization(Stamped, table=True):
    __tablename__ = "organizations"

    code: str = Field(unique=True, max_length=64)
    name: str = Field(max_length=200)
    agency: str = Field(max_length=32)


class User(Stamped, table=True):
    __tablename__ = "users"

    username: str = Field(unique=True, max_length=64)
    password_hash: str = Field(max_length=255)
    role: str = Field(max_length=32)
    organization: str = Field(foreign_key="organizations.code", index=True, max_length=64)
    disabled_at: datetime | None = utc_field(default=None, nullable=True)
    # When a second person approved the account (vault.identity.accounts): until then
    # it cannot log in and no token of it is accepted. Accounts made on the host with
    # the command line are approved when they are made (approved_by None).
    approved_at: datetime | None = utc_field(default=None, nullable=True)
    approved_by: uuid.UUID | None = Field(default=None)
    # Set at approval for an account made over the API: the SHA-256 of the activation
    # code the approver hands its holder. Until the holder activates the account with it
    # and the first password, choosing their own (vault.identity.activation), it cannot
    # log in: neither its creator (who typed the first password) nor its approver (who
    # holds the code) can use it alone.
    activation_digest: str | None = Field(default=None, max_length=64)
    # Who created the account (None: made on the host with the command line). The
    # two-person rule (IdentityService.distinct_people) reads it.
    created_by: uuid.UUID | None = Field(default=None, index=True)
    # Increases on every change of the account; sealed with it.
    epoch: int = Field(default=0)
    # Username, role, organisation, status, password hash digest, second factor and
    # epoch sealed to this row (vault.crypto.columns): any of them changed in the
    # database no longer opens it, and every token check, web session and login
    # refuses such an account (vault.identity.standing).
    authz_seal: str | None = Field(default=None, max_length=512)
    # Base32 TOTP secret; None until the user enrols. ``totp_confirmed`` turns it on.
    # Sealed (vault.crypto.columns): never the seed itself.
    totp_secret: str | None = Field(default=None, max_length=255)
    totp_confirmed: bool = Field(default=False)
    # The last TOTP time step accepted: a code of that step or older is a replay.
    totp_last_step: int | None = Field(default=None)


class AuthToken(Stamped, table=True):
    __tablename__ = "auth_tokens"

    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    token_hash: str = Field(unique=True, max_length=64)
    expires_at: datetime = utc_field()
    revoked_at: datetime | None = utc_field(default=None, nullable=True)
    # Account, digest and expiry sealed to this row (vault.identity.tokens): a row
    # written or extended by hand does not open.
    binding_seal: str | None = Field(default=None, max_length=512)


class LoginFailureKind(StrEnum):
    ACCOUNT = "account"
    ADDRESS = "address"


class LoginFailure(Stamped, table=True):
    """One failed login, counted against an account name and a client address."""

    __tablename__ = "login_failures"

    kind: str = Field(max_length=16)
    # The username as typed (lower-cased) or the client address; never a password.
    key: str = Field(index=True, max_length=128)
    at: datetime = utc_field(index=True)
