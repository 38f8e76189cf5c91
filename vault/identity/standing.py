"""Whether an account may act now: active, approved, not disabled, and as sealed.

Every bearer token check, every browser session and every login asks this on
each request, from the row as it is in the database (no cache). The account's
seal (``users.authz_seal``, vault.crypto.columns) covers everything that
decides what the account may do and how it proves who it is: username, role,
organisation, status (pending, active, disabled), who made it (the two-person
rule reads it), the digest of the password hash, the second factor (sealed seed
and whether it is on) and an epoch that increases on every change. A row
changed outside the vault (a role raised, a creator rewritten, an approval or
a re-enabling written by hand, a password hash swapped, a second factor
switched off) no longer matches its seal and is refused at once, in
every process. A whole earlier row copied back matches its seal but carries an
older epoch than the audit log records for the account (``vault.identity.epochs``),
and is refused too.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from vault.crypto.columns import ColumnSealer
from vault.cursor_reads import Reads
from vault.identity.epochs import AccountEpochs

log = logging.getLogger("vault.identity")

USERS_TABLE = "users"
AUTHZ_COLUMN = "authz"


class AccountStatus(StrEnum):
    PENDING = "pending"  # made over the API, waiting for a second person's approval
    # Approved, waiting for its holder to activate it with the first password and the
    # approver's code (vault.identity.activation).
    AWAITING_ACTIVATION = "awaiting_activation"
    ACTIVE = "active"
    DISABLED = "disabled"


class SealedAccount(Protocol):
    """The columns of an account its seal covers (a ``User`` row has them all)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def username(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def organization(self) -> str: ...
    @property
    def approved_at(self) -> datetime | None: ...
    @property
    def disabled_at(self) -> datetime | None: ...
    @property
    def activation_digest(self) -> str | None: ...
    @property
    def password_hash(self) -> str: ...
    @property
    def totp_secret(self) -> str | None: ...
    @property
    def totp_confirmed(self) -> bool: ...
    @property
    def created_by(self) -> uuid.UUID | None: ...
    @property
    def epoch(self) -> int: ...
    @property
    def authz_seal(self) -> str | None: ...


def status_of(
    approved_at: datetime | None, disabled_at: datetime | None, activation: str | None = None
) -> AccountStatus:
    if disabled_at is not None:
        return AccountStatus.DISABLED
    if approved_at is None:
        return AccountStatus.PENDING
    if activation is not None:
        return AccountStatus.AWAITING_ACTIVATION
    return AccountStatus.ACTIVE


def _digest(value: str | None) -> str:
    return hashlib.sha256((value or "").encode("utf-8")).hexdigest()


def authz_value(account: SealedAccount) -> str:
    """What an account's ``authz_seal`` holds (newline-joined: no part contains one)."""
    return "\n".join(
        (
            account.username,
            account.role,
            account.organization,
            status_of(account.approved_at, account.disabled_at, account.activation_digest).value,
            _digest(account.password_hash),
            _digest(account.totp_secret),
            "mfa" if account.totp_confirmed else "no-mfa",
            str(account.epoch),
            # Who made it ("host": the command line): the two-person rule trusts it.
            str(account.created_by) if account.created_by is not None else "host",
        )
    )


def sealed_as_stored(sealer: ColumnSealer, account: SealedAccount) -> bool:
    """Whether the row holds exactly what was sealed to it at its last change."""
    if sealer.holds(
        USERS_TABLE, AUTHZ_COLUMN, account.id, account.authz_seal, authz_value(account)
    ):
        return True
    log.critical("user %s: the account was changed outside the vault; it is refused", account.id)
    return False


def may_act(
    sealer: ColumnSealer, account: SealedAccount, epochs: AccountEpochs, reads: Reads
) -> bool:
    """Whether the account may act now: approved, not disabled, intact, and the latest
    version of itself the audit log records (read through ``reads``)."""
    status = status_of(account.approved_at, account.disabled_at, account.activation_digest)
    if status is not AccountStatus.ACTIVE:
        return False
    return sealed_as_stored(sealer, account) and epochs.current(reads, account)
