"""The identity service: organisations, users, logins, tokens, TOTP enrolment.

Order of work in every operation that writes: read and judge, append the audit
event, then write (the audit log needs the SQLite write lock for itself; see
``vault.db.Database.read_session``). Nothing here knows HTTP.
"""

from __future__ import annotations

import logging
import math
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from vault.audit.events import AuditEvent, AuditSink, Outcome
from vault.config import Settings
from vault.crypto.columns import ColumnSealer
from vault.db import Database
from vault.errors import (
    AuthenticationFailed,
    Conflict,
    InvalidInput,
    NotFound,
    RateLimited,
)
from vault.identity import totp
from vault.identity.models import (
    Agency,
    AuthToken,
    LoginFailure,
    LoginFailureKind,
    Organization,
    User,
)
from vault.identity.passwords import SecretHasher
from vault.identity.tokens import MAX_TOKEN_CHARS, new_token, token_digest
from vault.requestctx import current
from vault.vocabulary import AuthenticatedUser, Role

log = logging.getLogger("vault.identity")

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
ORGANIZATION_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 1024
# Roles that must present a second factor when Settings.require_mfa is on.
MFA_ROLES = frozenset({Role.ADMIN, Role.COMPLIANCE_OFFICER})
# The one message of every failed login: it never says which part was wrong,
# nor whether the account exists.
LOGIN_FAILED = "Invalid username, password or one-time code."
UNKNOWN_ADDRESS = "unknown"

# Every request runs it: built once with a bind parameter (building the select per
# call cost several times the query itself).
_TOKEN_LOOKUP = (
    select(
        col(AuthToken.id),
        col(AuthToken.expires_at),
        col(AuthToken.revoked_at),
        col(User.id),
        col(User.username),
        col(User.role),
        col(User.organization),
        col(User.disabled_at),
        col(User.authz_seal),
    )
    .join(User, col(User.id) == col(AuthToken.user_id))
    .where(col(AuthToken.token_hash) == bindparam("digest"))
)


USERS_TABLE = "users"
AUTHZ_COLUMN = "authz"


def authz_value(username: str, role: str, organization: str) -> str:
    """What a user's ``authz_seal`` holds (newline-joined: none of the three contains one)."""
    return "\n".join((username, role, organization))


@dataclass(frozen=True)
class UserView:
    """A user as others may see it (no hash, no TOTP secret)."""

    id: uuid.UUID
    username: str
    role: str
    organization: str
    disabled: bool
    mfa_enabled: bool

    @classmethod
    def of(cls, user: User) -> UserView:
        return cls(
            id=user.id,
            username=user.username,
            role=user.role,
            organization=user.organization,
            disabled=user.disabled_at is not None,
            mfa_enabled=user.totp_confirmed,
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
class TotpEnrolment:
    secret: str
    provisioning_uri: str

    def __repr__(self) -> str:
        return "TotpEnrolment(<secret hidden>)"


def normalise_username(username: str) -> str:
    return username.strip().lower()


class IdentityService:
    def __init__(
        self,
        db: Database,
        hasher: SecretHasher,
        settings: Settings,
        audit: AuditSink,
        clock: Callable[[], datetime],
        *,
        sealer: ColumnSealer,
    ) -> None:
        self.db = db
        self.hasher = hasher
        self.settings = settings
        self.audit = audit
        self.clock = clock
        # TOTP seeds are stored sealed: a database dump alone does not yield second factors.
        self.sealer = sealer

    def _authz_intact(
        self, user_id: uuid.UUID, username: str, role: str, organization: str, seal: str | None
    ) -> bool:
        """Whether the row's username, role and organisation are the ones sealed to it."""
        expected = authz_value(username, role, organization)
        if self.sealer.holds(USERS_TABLE, AUTHZ_COLUMN, user_id, seal, expected):
            return True
        log.critical(
            "user %s: role or organisation changed outside the vault; the account is refused",
            user_id,
        )
        return False

    def _totp_seed(self, user: User) -> str:
        assert user.totp_secret is not None
        return self.sealer.open("users", "totp_secret", user.id, user.totp_secret)

    # -- organisations -------------------------------------------------------

    def create_organization(self, code: str, name: str, agency: str) -> Organization:
        if not ORGANIZATION_PATTERN.match(code):
            raise InvalidInput("An organisation code is 2-64 lower-case letters, digits or '-'.")
        if agency not in {a.value for a in Agency}:
            raise InvalidInput(f"agency must be one of: {', '.join(a.value for a in Agency)}.")
        if not name.strip():
            raise InvalidInput("An organisation needs a name.")
        with self.db.read_session() as session:
            if self._organization(session, code) is not None:
                raise Conflict(f"Organisation {code!r} already exists.")
        self.audit.append(
            AuditEvent(
                action="organization.create",
                outcome=Outcome.INFO,
                actor_org=code,
                details={"code": code, "agency": agency},
            )
        )
        organization = Organization(code=code, name=name.strip(), agency=agency)
        try:
            with self.db.session() as session:
                session.add(organization)
        except IntegrityError:
            raise Conflict(f"Organisation {code!r} already exists.") from None
        return organization

    def organizations(self) -> list[Organization]:
        with self.db.read_session() as session:
            found = list(
                session.execute(select(Organization).order_by(col(Organization.code))).scalars()
            )
            session.expunge_all()
            return found

    @staticmethod
    def _organization(session: Session, code: str) -> Organization | None:
        return session.execute(
            select(Organization).where(col(Organization.code) == code)
        ).scalar_one_or_none()

    # -- users ----------------------------------------------------------------

    def create_user(
        self,
        username: str,
        password: str,
        role: str,
        organization: str,
        actor: AuthenticatedUser | None = None,
    ) -> UserView:
        """Create a user; ``actor`` is the admin doing it (None from the command line)."""
        username = normalise_username(username)
        if not USERNAME_PATTERN.match(username):
            raise InvalidInput(
                "A username is 3-64 characters: lower-case letters, digits, '.', '_' or '-'."
            )
        if role not in {r.value for r in Role}:
            raise InvalidInput(f"role must be one of: {', '.join(r.value for r in Role)}.")
        _check_password(password)
        with self.db.read_session() as session:
            if self._organization(session, organization) is None:
                raise InvalidInput(f"Unknown organisation {organization!r}.")
            if self._user_by_name(session, username) is not None:
                raise Conflict(f"The username {username!r} is taken.")
        password_hash = self.hasher.hash(password)
        user = User(
            username=username,
            password_hash=password_hash,
            role=role,
            organization=organization,
            created_by=actor.id if actor else None,
        )
        user.authz_seal = self.sealer.seal(
            USERS_TABLE, AUTHZ_COLUMN, user.id, authz_value(username, role, organization)
        )
        self.audit.append(
            AuditEvent(
                action="user.create",
                outcome=Outcome.INFO,
                actor_id=actor.id if actor else None,
                actor_role=actor.role if actor else None,
                actor_org=actor.organization if actor else None,
                target_id=user.id,
                details={"role": role, "organization": organization, "via": _via(actor)},
            )
        )
        try:
            with self.db.session() as session:
                session.add(user)
        except IntegrityError:
            raise Conflict(f"The username {username!r} is taken.") from None
        return UserView.of(user)

    def distinct_people(self, first: uuid.UUID, second: uuid.UUID) -> bool:
        """Whether two accounts stand for two people (the two-person rule).

        Not the same account, and neither created the other: an account an
        administrator made for themself is that administrator's second hand.
        """
        if first == second:
            return False
        with self.db.read_session() as session:
            rows = session.execute(
                select(col(User.id), col(User.created_by)).where(col(User.id).in_([first, second]))
            ).all()
        creators: dict[uuid.UUID, uuid.UUID | None] = {row[0]: row[1] for row in rows}
        if len(creators) != 2:
            return False  # an unknown account is nobody's second person
        return bool(creators[first] != second and creators[second] != first)

    def user(self, user_id: uuid.UUID) -> UserView:
        with self.db.read_session() as session:
            found = session.get(User, user_id)
            if found is None:
                raise NotFound("No such user.")
            return UserView.of(found)

    def user_by_name(self, username: str) -> UserView:
        with self.db.read_session() as session:
            found = self._user_by_name(session, normalise_username(username))
            if found is None:
                raise NotFound("No such user.")
            return UserView.of(found)

    @staticmethod
    def _user_by_name(session: Session, username: str) -> User | None:
        found = session.execute(
            select(User).where(col(User.username) == username)
        ).scalar_one_or_none()
        if found is not None:
            # Detached, so its loaded values outlive the read session's rollback.
            session.expunge(found)
        return found

    def disable_user(self, user_id: uuid.UUID, actor: AuthenticatedUser | None = None) -> UserView:
        """Disable a user and revoke every token they hold, effective on the next request."""
        with self.db.read_session() as session:
            found = session.get(User, user_id)
            if found is None:
                raise NotFound("No such user.")
        if actor is not None and actor.id == user_id:
            raise Conflict("An administrator cannot disable their own account.")
        self.audit.append(
            AuditEvent(
                action="user.disable",
                outcome=Outcome.INFO,
                actor_id=actor.id if actor else None,
                actor_role=actor.role if actor else None,
                actor_org=actor.organization if actor else None,
                target_id=user_id,
                details={"via": _via(actor)},
            )
        )
        now = self.clock()
        with self.db.session() as session:
            user = session.get(User, user_id)
            if user is None:
                raise NotFound("No such user.")
            if user.disabled_at is None:
                user.disabled_at = now
            session.add(user)
            session.execute(
                update(AuthToken)
                .where(col(AuthToken.user_id) == user_id)
                .where(col(AuthToken.revoked_at).is_(None))
                .values(revoked_at=now)
            )
            return UserView.of(user)

    # -- login, tokens ----------------------------------------------------------

    def login(self, username: str, password: str, code: str | None = None) -> IssuedToken:
        """Check the credentials (and the TOTP code where needed) and issue a token.

        Raises ``RateLimited`` when the account name or the client address has
        too many recent failures, and ``AuthenticationFailed`` with one message
        for every kind of failure.
        """
        name = normalise_username(username)[:128]
        address = _client_address()
        now = self.clock()
        with self.db.read_session() as session:
            self._check_rate_limits(session, name, address, now)
            user = self._user_by_name(session, name)
        if user is None or user.disabled_at is not None:
            # Same work as a real check, so timing does not tell the account exists.
            self.hasher.verify_dummy(password)
            self._fail(name, address, now, user.id if user else None, "credentials")
        assert user is not None
        if not self.hasher.verify(user.password_hash, password):
            self._fail(name, address, now, user.id, "credentials")
        if not self._authz_intact(
            user.id, user.username, user.role, user.organization, user.authz_seal
        ):
            self._fail(name, address, now, user.id, "account changed outside the vault")
        mfa_required = user.totp_confirmed or (self.settings.require_mfa and user.role in MFA_ROLES)
        step: int | None = None
        if mfa_required:
            if not user.totp_confirmed or user.totp_secret is None:
                # Only someone who knows the password gets this far.
                self._audit_login(user, Outcome.DENY, "second factor required, not enrolled")
                raise AuthenticationFailed(
                    "A second factor is required for this role and none is enrolled; "
                    "ask an administrator to run `vault users totp`."
                )
            step = totp.matching_step(self._totp_seed(user), code or "", now)
            if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
                self._fail(name, address, now, user.id, "one-time code")
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
        with self.db.session() as session:
            if step is not None and not self._consume_totp_step(session, user.id, step):
                raise AuthenticationFailed(LOGIN_FAILED)  # replayed by a concurrent login
            session.add(row)
            if new_hash is not None:
                session.execute(
                    update(User).where(col(User.id) == user.id).values(password_hash=new_hash)
                )
            session.execute(
                delete(LoginFailure)
                .where(col(LoginFailure.kind) == LoginFailureKind.ACCOUNT.value)
                .where(col(LoginFailure.key) == name)
            )
        return IssuedToken(
            access_token=token,
            expires_in=self.settings.token_ttl_seconds,
            token_id=row.id,
            user=UserView.of(user),
        )

    @staticmethod
    def _consume_totp_step(session: Session, user_id: uuid.UUID, step: int) -> bool:
        """Record ``step`` as used unless it (or a later one) already was: atomic."""
        result = session.execute(
            update(User)
            .where(col(User.id) == user_id)
            .where((col(User.totp_last_step).is_(None)) | (col(User.totp_last_step) < step))
            .values(totp_last_step=step)
        )
        # An UPDATE's result is a CursorResult, which has a rowcount.
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def _check_rate_limits(self, session: Session, name: str, address: str, now: datetime) -> None:
        window = timedelta(seconds=self.settings.login_window_seconds)
        limit = self.settings.login_max_failures
        retry_after = 0
        for kind, key in ((LoginFailureKind.ACCOUNT, name), (LoginFailureKind.ADDRESS, address)):
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
                # When the limit-th most recent failure leaves the window, one more try is allowed.
                wait = (times[limit - 1] + window - now).total_seconds()
                retry_after = max(retry_after, math.ceil(wait), 1)
        if retry_after:
            self.audit.append(
                AuditEvent(
                    action="auth.login",
                    outcome=Outcome.DENY,
                    reason="rate limited",
                    details={"retry_after": retry_after},
                )
            )
            raise RateLimited("Too many failed logins; try again later.", retry_after=retry_after)

    def _fail(
        self, name: str, address: str, now: datetime, user_id: uuid.UUID | None, why: str
    ) -> None:
        """Record a failed login against the account name and the address; always raises."""
        # The username is not put in the audit event: people type passwords into it.
        self.audit.append(
            AuditEvent(action="auth.login", outcome=Outcome.DENY, actor_id=user_id, reason=why)
        )
        window = timedelta(seconds=self.settings.login_window_seconds)
        with self.db.session() as session:
            session.execute(delete(LoginFailure).where(col(LoginFailure.at) <= now - window))
            session.add(LoginFailure(kind=LoginFailureKind.ACCOUNT.value, key=name, at=now))
            session.add(LoginFailure(kind=LoginFailureKind.ADDRESS.value, key=address, at=now))
        raise AuthenticationFailed(LOGIN_FAILED)

    def _audit_login(self, user: User, outcome: Outcome, reason: str | None) -> None:
        self.audit.append(
            AuditEvent(
                action="auth.login",
                outcome=outcome,
                actor_id=user.id,
                actor_role=user.role,
                actor_org=user.organization,
                reason=reason,
            )
        )

    def authenticate(self, bearer: str) -> AuthenticatedUser:
        """The user of a bearer token; ``AuthenticationFailed`` if unknown, expired or revoked."""
        if not bearer or len(bearer) > MAX_TOKEN_CHARS:
            raise AuthenticationFailed("A valid bearer token is required.")
        digest = token_digest(bearer)
        now = self.clock()
        # Looked up in the database on every request (no cache), so a revocation or a
        # disabled account takes effect on the very next request, in every process.
        with self.db.read_cursor(one_statement=True) as reads:
            row = reads.execute(_TOKEN_LOOKUP, {"digest": digest}).one_or_none()
        if row is None:
            raise AuthenticationFailed("A valid bearer token is required.")
        (
            token_id,
            expires_at,
            revoked_at,
            user_id,
            username,
            role,
            organization,
            disabled_at,
            authz_seal,
        ) = row
        if revoked_at is not None or disabled_at is not None or expires_at <= now:
            raise AuthenticationFailed("The token has expired or was revoked.")
        if not self._authz_intact(user_id, username, role, organization, authz_seal):
            raise AuthenticationFailed("A valid bearer token is required.")
        return AuthenticatedUser(
            id=user_id,
            username=username,
            role=role,
            organization=organization,
            token_id=token_id,
        )

    def logout(self, user: AuthenticatedUser) -> None:
        """Revoke the token the caller used."""
        self.audit.append(
            AuditEvent(
                action="auth.logout",
                outcome=Outcome.INFO,
                actor_id=user.id,
                actor_role=user.role,
                actor_org=user.organization,
            )
        )
        with self.db.session() as session:
            session.execute(
                update(AuthToken)
                .where(col(AuthToken.id) == user.token_id)
                .where(col(AuthToken.revoked_at).is_(None))
                .values(revoked_at=self.clock())
            )

    # -- TOTP enrolment ----------------------------------------------------------

    def start_totp(self, user_id: uuid.UUID) -> TotpEnrolment:
        """Give the user a new TOTP secret; it takes effect once a code confirms it."""
        secret = totp.new_secret()
        with self.db.session() as session:
            user = session.get(User, user_id)
            if user is None:
                raise NotFound("No such user.")
            if user.totp_confirmed:
                raise Conflict("A second factor is already enrolled.")
            user.totp_secret = self.sealer.seal("users", "totp_secret", user.id, secret)
            user.totp_last_step = None
            session.add(user)
            username = user.username
        return TotpEnrolment(
            secret=secret, provisioning_uri=totp.provisioning_uri(secret, username)
        )

    def confirm_totp(self, user_id: uuid.UUID, code: str) -> None:
        now = self.clock()
        with self.db.read_session() as session:
            user = session.get(User, user_id)
            if user is None or user.totp_secret is None:
                raise Conflict("Start the enrolment first.")
            if user.totp_confirmed:
                raise Conflict("A second factor is already enrolled.")
            step = totp.matching_step(self._totp_seed(user), code, now)
            session.expunge(user)
        if step is None:
            raise InvalidInput("The one-time code does not match.")
        self.audit.append(
            AuditEvent(
                action="user.mfa_enrol",
                outcome=Outcome.INFO,
                actor_id=user.id,
                actor_role=user.role,
                actor_org=user.organization,
                target_id=user.id,
            )
        )
        with self.db.session() as session:
            if not self._consume_totp_step(session, user_id, step):
                raise InvalidInput("The one-time code was already used.")
            session.execute(update(User).where(col(User.id) == user_id).values(totp_confirmed=True))

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


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidInput(f"A password has at least {MIN_PASSWORD_CHARS} characters.")
    if len(password) > MAX_PASSWORD_CHARS:
        raise InvalidInput(f"A password has at most {MAX_PASSWORD_CHARS} characters.")


def _client_address() -> str:
    info = current()
    return (info.client_addr if info and info.client_addr else UNKNOWN_ADDRESS)[:128]


def _via(actor: AuthenticatedUser | None) -> str:
    return "api" if actor else "cli"
