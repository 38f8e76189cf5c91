"""What every part of the identity service shares: its state, a user's public view,
name rules and the sealing of an account's authorisation.

Order of work in every operation that writes: read and judge, append the audit
event, then write (the audit log needs the SQLite write lock for itself; see
``vault.db.Database.read_session``). Nothing here knows HTTP.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import select, update
from sqlmodel import Session, col

from vault.audit.events import AuditSink
from vault.config import Settings
from vault.crypto.columns import ColumnSealer
from vault.cursor_reads import Reads
from vault.db import Database
from vault.errors import ConfigurationError
from vault.identity.bearer import TokenUsers
from vault.identity.epochs import AccountEpochs, epochs_of
from vault.identity.models import Organization, User
from vault.identity.passwords import SecretHasher
from vault.identity.standing import (
    AUTHZ_COLUMN,
    USERS_TABLE,
    AccountStatus,
    authz_value,
    sealed_as_stored,
    status_of,
)
from vault.requestctx import current
from vault.vocabulary import (
    Action,
    AuthenticatedUser,
    Decision,
    OperationFacts,
    Principal,
)

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
ORGANIZATION_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
UNKNOWN_ADDRESS = "unknown"


class AccountPolicy(Protocol):
    """The policy engine (``vault.access.engine.PolicyEngine``) as accounts need it."""

    def authorize(
        self,
        principal: Principal,
        action: Action,
        facts: OperationFacts,
        subject_id: uuid.UUID | None = None,
    ) -> Decision: ...


@dataclass(frozen=True)
class UserView:
    """A user as others may see it (no hash, no TOTP secret)."""

    id: uuid.UUID
    username: str
    role: str
    organization: str
    status: AccountStatus
    mfa_enabled: bool
    created_by: uuid.UUID | None
    approved_by: uuid.UUID | None

    @property
    def disabled(self) -> bool:
        return self.status is AccountStatus.DISABLED

    @property
    def active(self) -> bool:
        return self.status is AccountStatus.ACTIVE

    @classmethod
    def of(cls, user: User) -> UserView:
        return cls(
            id=user.id,
            username=user.username,
            role=user.role,
            organization=user.organization,
            status=status_of(user.approved_at, user.disabled_at, user.activation_digest),
            mfa_enabled=user.totp_confirmed,
            created_by=user.created_by,
            approved_by=user.approved_by,
        )


def normalise_username(username: str) -> str:
    return username.strip().lower()


def client_address() -> str:
    info = current()
    return (info.client_addr if info and info.client_addr else UNKNOWN_ADDRESS)[:128]


def via(actor: AuthenticatedUser | None) -> str:
    return "api" if actor else "cli"


class IdentityCore:
    """The state and helpers the parts of :class:`vault.identity.service.IdentityService` share."""

    def __init__(
        self,
        db: Database,
        hasher: SecretHasher,
        settings: Settings,
        audit: AuditSink,
        clock: Callable[[], datetime],
        *,
        sealer: ColumnSealer,
        policy: AccountPolicy | None = None,
    ) -> None:
        self.db = db
        self.hasher = hasher
        self.settings = settings
        self.audit = audit
        self.clock = clock
        # TOTP seeds are stored sealed: a database dump alone does not yield second factors.
        self.sealer = sealer
        # Decides every operation an authenticated person asks (user.create, ...);
        # without one, every such operation is refused (the command line needs none).
        self.policy = policy
        # Whom each recent bearer token was for (vault.identity.bearer): a guess that a
        # record read confirms in its own snapshot, never a verdict.
        self.token_users = TokenUsers()

    def _engine(self) -> AccountPolicy:
        if self.policy is None:
            raise ConfigurationError("the identity service was built without a policy engine")
        return self.policy

    @property
    def epochs(self) -> AccountEpochs:
        """The latest epoch of each account the audit log records (vault.identity.epochs)."""
        return epochs_of(self.db)

    def _authz_intact(self, user: User, reads: Reads) -> bool:
        return sealed_as_stored(self.sealer, user) and self.epochs.current(reads, user)

    def _seal_authz(self, user: User, *, next_epoch: bool = True) -> None:
        """Seal the account as it now is, one epoch on: call it after every change.

        A change that matters (status, second factor) takes the next epoch, named in its
        audit event; ``next_epoch=False`` reseals a change that gives no one anything if
        undone (a password rehashed, a second factor started but not confirmed).
        """
        if next_epoch:
            user.epoch += 1
        user.authz_seal = self.sealer.seal(USERS_TABLE, AUTHZ_COLUMN, user.id, authz_value(user))

    @staticmethod
    def _locked_at(session: Session, user_id: uuid.UUID, epoch: int) -> User | None:
        """The account's row, locked, if it is still at the epoch its change was judged on
        (and announced in the audit log as ``epoch + 1``); None if it changed meanwhile."""
        user = session.get(User, user_id, with_for_update=True)
        return user if user is not None and user.epoch == epoch else None

    @staticmethod
    def _locked(session: Session, user_id: uuid.UUID) -> User | None:
        """The account's row, locked until the writing transaction ends (PostgreSQL; the
        SQLite write transaction holds the whole database already)."""
        return session.get(User, user_id, with_for_update=True)

    def _totp_seed(self, user: User) -> str:
        if user.totp_secret is None:
            raise ConfigurationError("no second factor is enrolled for this account")
        return self.sealer.open(USERS_TABLE, "totp_secret", user.id, user.totp_secret)

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
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]  # a CursorResult of an UPDATE

    @staticmethod
    def _organization(session: Session, code: str) -> Organization | None:
        return session.execute(
            select(Organization).where(col(Organization.code) == code)
        ).scalar_one_or_none()

    @staticmethod
    def _user_by_name(session: Session, username: str) -> User | None:
        found = session.execute(
            select(User).where(col(User.username) == username)
        ).scalar_one_or_none()
        if found is not None:
            # Detached, so its loaded values outlive the read session's rollback.
            session.expunge(found)
        return found
