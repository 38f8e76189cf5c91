"""Logins, bearer tokens and the limits on failed logins.

Every login attempt takes its place in the failure count *before* the password
is checked, in one serialised transaction (count, then insert): on SQLite the
writing transaction holds the database's write lock from its start (BEGIN
IMMEDIATE), on PostgreSQL a transaction-scoped advisory lock. So however many
guesses arrive at once, in however many processes, at most
``login_max_failures`` of them are evaluated in a window; a successful login
removes its own place again.
"""

from __future__ import annotations

import logging
import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn

from sqlalchemy import bindparam, delete, func, select, text, update
from sqlmodel import Session, col

from vault.audit.events import AuditEvent, Outcome
from vault.cursor_reads import Ahead, CursorReads
from vault.errors import AuthenticationFailed, RateLimited
from vault.identity import totp
from vault.identity.bearer import BearerCheck
from vault.identity.core import IdentityCore, UserView, client_address, normalise_username
from vault.identity.models import AuthToken, LoginFailure, LoginFailureKind, User
from vault.identity.standing import AccountStatus, may_act, status_of
from vault.identity.tokens import (
    BINDING_COLUMN,
    MAX_TOKEN_CHARS,
    TOKENS_TABLE,
    new_token,
    token_binding,
    token_digest,
)
from vault.vocabulary import (
    Action,
    AuthenticatedUser,
    EventAction,
    OperationFacts,
    Principal,
    Role,
)

log = logging.getLogger("vault.identity")


def _or_raise(found: AuthenticatedUser | AuthenticationFailed) -> AuthenticatedUser:
    if isinstance(found, AuthenticationFailed):
        raise found
    return found


def _digest(bearer: str) -> str:
    if not bearer or len(bearer) > MAX_TOKEN_CHARS:
        raise AuthenticationFailed("A valid bearer token is required.")
    return token_digest(bearer)


# The one message of every failed login: it never says which part was wrong,
# nor whether the account exists.
LOGIN_FAILED = "Invalid username, password or one-time code."
# The PostgreSQL advisory lock that serialises the count-then-insert of login attempts.
LOGIN_LIMIT_LOCK = 0x7661756C74_01  # "vault" + 1

# Every request runs it: built once with a bind parameter (building the select per
# call cost several times the query itself).
_TOKEN_LOOKUP = (
    select(
        col(AuthToken.id),
        col(AuthToken.expires_at),
        col(AuthToken.revoked_at),
        col(AuthToken.binding_seal),
        col(User.id),
        col(User.username),
        col(User.role),
        col(User.organization),
        col(User.disabled_at),
        col(User.approved_at),
        col(User.activation_digest),
        col(User.password_hash),
        col(User.totp_secret),
        col(User.totp_confirmed),
        col(User.created_by),
        col(User.epoch),
        col(User.authz_seal),
    )
    .join(User, col(User.id) == col(AuthToken.user_id))
    .where(col(AuthToken.token_hash) == bindparam("digest"))
)


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    token_id: uuid.UUID
    user: UserView

    def __repr__(self) -> str:  # the token value is a credential
        return f"IssuedToken(token_id={self.token_id}, user={self.user.username!r})"


@dataclass(frozen=True)
class _TokenAccount:
    """The account columns of a token lookup row (vault.identity.standing.SealedAccount)."""

    id: uuid.UUID
    username: str
    role: str
    organization: str
    disabled_at: datetime | None
    approved_at: datetime | None
    activation_digest: str | None
    password_hash: str
    totp_secret: str | None
    totp_confirmed: bool
    created_by: uuid.UUID | None
    epoch: int
    authz_seal: str | None


@dataclass(frozen=True)
class _Attempt:
    """The two failure rows an attempt holds until it succeeds."""

    account_row: uuid.UUID
    address_row: uuid.UUID


class Logins(IdentityCore):
    def login(self, username: str, password: str, code: str | None = None) -> IssuedToken:
        """Check the credentials (and the TOTP code where needed) and issue a token.

        Raises ``RateLimited`` when the account name or the client address has
        too many recent failures, and ``AuthenticationFailed`` with one message
        for every kind of failure.
        """
        name = normalise_username(username)[:128]
        now = self.clock()
        attempt = self._take_place(name, client_address(), now)
        with self.db.read_session() as session:
            user = self._user_by_name(session, name)
            intact = user is not None and self._authz_intact(user, session)
        if user is None or user.disabled_at is not None:
            # Same work as a real check, so timing does not tell the account exists.
            self.hasher.verify_dummy(password)
            self._fail(user, "credentials")
        if not self.hasher.verify(user.password_hash, password):
            self._fail(user, "credentials")
        if not intact:
            self._fail(user, "account changed outside the vault")
        status = status_of(user.approved_at, user.disabled_at, user.activation_digest)
        if status is AccountStatus.PENDING:
            # Only someone who knows the password learns this.
            self._audit_login(user, Outcome.DENY, "waiting for approval")
            raise AuthenticationFailed("This account is waiting for a second person to approve it.")
        if status is AccountStatus.AWAITING_ACTIVATION:
            self._audit_login(user, Outcome.DENY, "waiting for activation")
            raise AuthenticationFailed(
                "Activate this account first (POST /v1/auth/activate) with the code its "
                "approver gave you, choosing your own password."
            )
        step = self._second_factor(user, code, now)
        new_hash = (
            self.hasher.hash(password) if self.hasher.needs_rehash(user.password_hash) else None
        )
        self._audit_login(user, Outcome.ALLOW, None)
        token = new_token()
        row = AuthToken(
            user_id=user.id,
            token_hash=token_digest(token),
            expires_at=now + timedelta(seconds=self.settings.token_ttl_seconds),
        )
        row.binding_seal = self.sealer.seal(
            TOKENS_TABLE,
            BINDING_COLUMN,
            row.id,
            token_binding(user.id, row.token_hash, row.expires_at),
        )
        with self.db.session() as session:
            if step is not None and not self._consume_totp_step(session, user.id, step):
                raise AuthenticationFailed(LOGIN_FAILED)  # replayed by a concurrent login
            session.add(row)
            rehashed = self._locked(session, user.id) if new_hash is not None else None
            if rehashed is not None and new_hash is not None:
                rehashed.password_hash = new_hash
                self._seal_authz(rehashed, next_epoch=False)  # the same password
                session.add(rehashed)
            self._release_place(session, name, attempt)
        return IssuedToken(
            access_token=token,
            expires_in=self.settings.token_ttl_seconds,
            token_id=row.id,
            user=UserView.of(user),
        )

    @property
    def _logout_horizon(self) -> timedelta:
        """How long logouts are remembered: as long as a token or a browser session lives
        (both are named by the logouts ``vault.identity.epochs`` keeps, in one record)."""
        settings = self.settings
        return timedelta(seconds=max(settings.token_ttl_seconds, settings.web_session_max_seconds))

    @staticmethod
    def _release_place(session: Session, name: str, attempt: _Attempt) -> None:
        """A success: the account's failures are forgiven and this attempt's place freed."""
        session.execute(
            delete(LoginFailure)
            .where(col(LoginFailure.kind) == LoginFailureKind.ACCOUNT.value)
            .where(col(LoginFailure.key) == name)
        )
        session.execute(delete(LoginFailure).where(col(LoginFailure.id) == attempt.address_row))

    def _second_factor_required(self, user: User) -> bool:
        """Whether the policies require this account to give a second factor (deny: no)."""
        who = Principal(id=user.id, role=Role(user.role), organization=user.organization)
        facts = OperationFacts(target_org=user.organization, on_self=True)
        return self._engine().authorize(who, Action.REQUIRE_SECOND_FACTOR, facts).allowed

    def _second_factor(self, user: User, code: str | None, now: datetime) -> int | None:
        """The TOTP step the code matched, or None when no second factor is needed."""
        mfa_required = user.totp_confirmed or (
            self.settings.require_mfa and self._second_factor_required(user)
        )
        if not mfa_required:
            return None
        if not user.totp_confirmed or user.totp_secret is None:
            # Only someone who knows the password gets this far.
            self._audit_login(user, Outcome.DENY, "second factor required, not enrolled")
            raise AuthenticationFailed(
                "A second factor is required for this role and none is enrolled; "
                "ask an administrator to run `vault users totp`."
            )
        step = totp.matching_step(self._totp_seed(user), code or "", now)
        if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
            self._fail(user, "one-time code")
        return step

    def _serialise_limits(self, session: Session) -> None:
        """Make this transaction the only one counting attempts until it ends."""
        if not self.db.is_sqlite:  # SQLite: BEGIN IMMEDIATE already holds the write lock
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOGIN_LIMIT_LOCK})

    def _take_place(self, name: str, address: str, now: datetime) -> _Attempt:
        """Count the recent failures and, under the limit, record this attempt as one.

        Count and insert happen in one serialised transaction, so parallel attempts
        cannot all see room under the limit. Raises ``RateLimited`` otherwise.
        """
        window = timedelta(seconds=self.settings.login_window_seconds)
        limit = self.settings.login_max_failures
        retry_after = 0
        account_row = LoginFailure(kind=LoginFailureKind.ACCOUNT.value, key=name, at=now)
        address_row = LoginFailure(kind=LoginFailureKind.ADDRESS.value, key=address, at=now)
        with self.db.session() as session:
            self._serialise_limits(session)
            session.execute(delete(LoginFailure).where(col(LoginFailure.at) <= now - window))
            for kind, key in (
                (LoginFailureKind.ACCOUNT, name),
                (LoginFailureKind.ADDRESS, address),
            ):
                times = list(
                    session.execute(
                        select(col(LoginFailure.at))
                        .where(col(LoginFailure.kind) == kind.value)
                        .where(col(LoginFailure.key) == key)
                        .where(col(LoginFailure.at) > now - window)
                        .order_by(col(LoginFailure.at).desc())
                        .limit(limit)
                    ).scalars()
                )
                if len(times) >= limit:
                    # When the limit-th most recent failure leaves the window, one more try
                    # is allowed.
                    wait = (times[limit - 1] + window - now).total_seconds()
                    retry_after = max(retry_after, math.ceil(wait), 1)
            if not retry_after:
                session.add(account_row)
                session.add(address_row)
        if retry_after:
            self.audit.append(
                AuditEvent.by(
                    None,
                    EventAction.AUTH_LOGIN,
                    Outcome.DENY,
                    reason="rate limited",
                    details={"retry_after": retry_after},
                )
            )
            raise RateLimited("Too many failed logins; try again later.", retry_after=retry_after)
        return _Attempt(account_row=account_row.id, address_row=address_row.id)

    def _fail(self, user: User | None, why: str) -> NoReturn:
        """A failed login (its place in the count stays taken); always raises."""
        # The username is not put in the audit event: people type passwords into it. An
        # attempt on a known account is filed under that account (and so its organisation),
        # so its compliance officers see the guessing.
        self.audit.append(
            AuditEvent.by(None, EventAction.AUTH_LOGIN, Outcome.DENY, reason=why)
            if user is None
            else AuditEvent.by(
                Principal(id=user.id, role=Role(user.role), organization=user.organization),
                EventAction.AUTH_LOGIN,
                Outcome.DENY,
                reason=why,
            )
        )
        raise AuthenticationFailed(LOGIN_FAILED)

    def _audit_login(self, user: User, outcome: Outcome, reason: str | None) -> None:
        who = Principal(id=user.id, role=Role(user.role), organization=user.organization)
        self.audit.append(AuditEvent.by(who, EventAction.AUTH_LOGIN, outcome, reason=reason))

    def authenticate(self, bearer: str) -> AuthenticatedUser:
        """The user of a bearer token; ``AuthenticationFailed`` if unknown, expired or revoked,
        or if the account may not act now (disabled, pending, changed outside the vault)."""
        return self.authenticate_digest(_digest(bearer))

    def bearer_check(self, bearer: str) -> BearerCheck:
        """The token, to be checked inside the read it comes with (``vault.identity.bearer``)."""
        return BearerCheck(self, _digest(bearer))

    def token_ahead(self, digest: str) -> list[Ahead]:
        """The token's row and the account events appended since this process last looked:
        two statements, one round trip on PostgreSQL."""
        return [(_TOKEN_LOOKUP, {"digest": digest}), self.epochs.ahead()]

    def authenticate_digest(self, digest: str) -> AuthenticatedUser:
        # Looked up in the database on every request, so a revocation or a disabled
        # account takes effect on the very next request, in every process.
        with self.db.read_cursor(one_statement=True, ahead=self.token_ahead(digest)) as reads:
            # Judged inside, raised outside: an exception would cost the reader its connection.
            found = self.token_user(reads, digest)
        return _or_raise(found)

    def token_user(
        self, reads: CursorReads, digest: str
    ) -> AuthenticatedUser | AuthenticationFailed:
        """The token's user, or the refusal to raise (nothing raises in here)."""
        now = self.clock()
        row = reads.execute(_TOKEN_LOOKUP, {"digest": digest}).one_or_none()
        account = None if row is None else _TokenAccount(*row[4:])
        if row is None or account is None:
            self.token_users.forget(digest)
            return AuthenticationFailed("A valid bearer token is required.")
        # The epoch check reads the account events appended since this process last
        # looked: a second small statement after the token's own.
        stands = (
            row[2] is None
            and row[1] > now
            and self._token_intact(row[0], row[3], account.id, digest, row[1])
            and may_act(self.sealer, account, self.epochs, reads)
            and not self.epochs.revoked(reads, row[0], now - self._logout_horizon)
        )
        if not stands:
            self.token_users.forget(digest)
            return AuthenticationFailed("The token has expired or was revoked.")
        user = AuthenticatedUser(
            id=account.id,
            username=account.username,
            role=account.role,
            organization=account.organization,
            token_id=row[0],
        )
        # Whom the token is for, so the next record read can send its check with the
        # read's own statements: a guess that read confirms, never a verdict.
        if self.token_users.get(digest) != user:
            self.token_users.remember(digest, user)
        return user

    def _token_intact(
        self,
        token_id: uuid.UUID,
        seal: str | None,
        user_id: uuid.UUID,
        digest: str,
        expires_at: datetime,
    ) -> bool:
        """Whether the token row is one the vault issued, as issued (vault.identity.tokens)."""
        binding = token_binding(user_id, digest, expires_at)
        if self.sealer.holds(TOKENS_TABLE, BINDING_COLUMN, token_id, seal, binding):
            return True
        log.critical("token %s: the row was written or changed outside the vault", token_id)
        return False

    def logout(self, user: AuthenticatedUser) -> None:
        """Revoke the token the caller used."""
        # The event names the token: it stays revoked even if its row is revived.
        self.audit.append(
            AuditEvent.by(user, EventAction.AUTH_LOGOUT, Outcome.INFO, target_id=user.token_id)
        )
        with self.db.session() as session:
            session.execute(
                update(AuthToken)
                .where(col(AuthToken.id) == user.token_id)
                .where(col(AuthToken.revoked_at).is_(None))
                .values(revoked_at=self.clock())
            )

    def count_failures(self, kind: LoginFailureKind, key: str) -> int:
        with self.db.read_session() as session:
            return int(
                session.execute(
                    select(func.count())
                    .select_from(LoginFailure)
                    .where(col(LoginFailure.kind) == kind.value)
                    .where(col(LoginFailure.key) == key)
                ).scalar_one()
            )
