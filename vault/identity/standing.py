"""Whether an account may act now: active, approved, not disabled, and as sealed.

Every bearer token check, every browser session and every login asks this on
each request, from the row as it is in the database (no cache): a disabled
account, an account still waiting for its second person, or a row whose
username, role, organisation or approval was changed outside the vault is
refused at once, in every process.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from enum import StrEnum

from vault.crypto.columns import ColumnSealer

log = logging.getLogger("vault.identity")

USERS_TABLE = "users"
AUTHZ_COLUMN = "authz"
APPROVED = "approved"
PENDING = "pending"


class AccountStatus(StrEnum):
    PENDING = "pending"  # made over the API, waiting for a second person's approval
    ACTIVE = "active"
    DISABLED = "disabled"


def authz_value(username: str, role: str, organization: str, approved: bool) -> str:
    """What a user's ``authz_seal`` holds (newline-joined: none of the parts contains one)."""
    return "\n".join((username, role, organization, APPROVED if approved else PENDING))


def status_of(approved_at: datetime | None, disabled_at: datetime | None) -> AccountStatus:
    if disabled_at is not None:
        return AccountStatus.DISABLED
    if approved_at is None:
        return AccountStatus.PENDING
    return AccountStatus.ACTIVE


def sealed_as_stored(
    sealer: ColumnSealer,
    user_id: uuid.UUID,
    username: str,
    role: str,
    organization: str,
    approved_at: datetime | None,
    seal: str | None,
) -> bool:
    """Whether the row's username, role, organisation and approval are the ones sealed to it."""
    expected = authz_value(username, role, organization, approved_at is not None)
    if sealer.holds(USERS_TABLE, AUTHZ_COLUMN, user_id, seal, expected):
        return True
    log.critical(
        "user %s: role, organisation or approval changed outside the vault; the account is refused",
        user_id,
    )
    return False


def may_act(
    sealer: ColumnSealer,
    user_id: uuid.UUID,
    username: str,
    role: str,
    organization: str,
    approved_at: datetime | None,
    disabled_at: datetime | None,
    seal: str | None,
) -> bool:
    """Whether the account may act now: approved, not disabled, and intact."""
    if status_of(approved_at, disabled_at) is not AccountStatus.ACTIVE:
        return False
    return sealed_as_stored(sealer, user_id, username, role, organization, approved_at, seal)
