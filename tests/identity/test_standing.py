"""``vault.identity.standing``: an account acts only if active, approved and as sealed."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime

import pytest

from vault.crypto.columns import ColumnSealer
from vault.identity.standing import (
    AUTHZ_COLUMN,
    USERS_TABLE,
    AccountStatus,
    authz_value,
    may_act,
    status_of,
)

APPROVED = datetime(2026, 1, 5, tzinfo=UTC)
ACCOUNT_ID = uuid.UUID(int=7)
CREATOR_ID = uuid.UUID(int=9)


@dataclasses.dataclass(frozen=True)
class Account:
    id: uuid.UUID = ACCOUNT_ID
    username: str = "nurse.siti"
    role: str = "health_officer"
    organization: str = "lapas-a"
    approved_at: datetime | None = APPROVED
    disabled_at: datetime | None = None
    password_hash: str = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"
    totp_secret: str | None = "v1:sealed-seed"
    totp_confirmed: bool = True
    created_by: uuid.UUID | None = CREATOR_ID
    epoch: int = 3
    authz_seal: str | None = None
    activation_digest: str | None = None


class Epochs:
    """The audit log's latest epoch of every account, as the test sets it."""

    def __init__(self, latest: int = 3) -> None:
        self._latest = latest

    def current(self, reads: object, account: Account) -> bool:
        return account.epoch >= self._latest


def _may_act(sealer: ColumnSealer, account: Account, latest: int = 3) -> bool:
    return may_act(sealer, account, Epochs(latest), None)  # type: ignore[arg-type]  # fakes


@pytest.fixture
def sealer() -> ColumnSealer:
    return ColumnSealer(bytes(range(32)))


def _sealed(sealer: ColumnSealer, account: Account) -> Account:
    seal = sealer.seal(USERS_TABLE, AUTHZ_COLUMN, account.id, authz_value(account))
    return dataclasses.replace(account, authz_seal=seal)


def test_status_follows_approval_and_disabling() -> None:
    """Disabled wins over approved; no approval yet is pending."""
    assert status_of(None, None) is AccountStatus.PENDING
    assert status_of(APPROVED, None) is AccountStatus.ACTIVE
    assert status_of(APPROVED, APPROVED) is AccountStatus.DISABLED
    assert status_of(None, APPROVED) is AccountStatus.DISABLED


def test_intact_active_account_may_act(sealer: ColumnSealer) -> None:
    """An approved account whose row matches its seal may act."""
    assert _may_act(sealer, _sealed(sealer, Account()))


def test_pending_or_disabled_account_may_not_act(sealer: ColumnSealer) -> None:
    """Even intact, an account waiting for approval or disabled is refused."""
    assert not _may_act(sealer, _sealed(sealer, Account(approved_at=None)))
    assert not _may_act(sealer, _sealed(sealer, Account(disabled_at=APPROVED)))


@pytest.mark.parametrize(
    "change",
    [
        {"role": "admin"},
        {"organization": "lapas-b"},
        {"username": "someone.else"},
        {"password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$b3RoZXI"},
        {"totp_confirmed": False},
        {"totp_secret": None},
        {"epoch": 2},
        {"id": uuid.UUID(int=8)},
        {"created_by": None},
        {"created_by": uuid.UUID(int=10)},
    ],
)
def test_row_changed_outside_the_vault_is_refused(
    sealer: ColumnSealer, change: dict[str, object]
) -> None:
    """A role raised, a hash swapped, a second factor switched off or the account's maker
    rewritten by hand breaks the seal."""
    tampered = dataclasses.replace(_sealed(sealer, Account()), **change)
    assert not _may_act(sealer, tampered)


def test_approval_written_by_hand_is_refused(sealer: ColumnSealer) -> None:
    """A pending account approved in the database, not by a second person, stays refused."""
    pending = _sealed(sealer, Account(approved_at=None))
    assert not _may_act(sealer, dataclasses.replace(pending, approved_at=APPROVED))


def test_an_account_waiting_for_its_holder_may_not_act(sealer: ColumnSealer) -> None:
    """Approved but not yet activated by its holder, an intact account is refused."""
    assert not _may_act(sealer, _sealed(sealer, Account(activation_digest="digest")))


def test_an_older_version_of_the_account_than_the_log_knows_is_refused(
    sealer: ColumnSealer,
) -> None:
    """A row sealed at epoch 3 is refused once the audit log records epoch 4."""
    account = _sealed(sealer, Account())
    assert _may_act(sealer, account, latest=3)
    assert not _may_act(sealer, account, latest=4)


def test_account_without_a_seal_is_refused(sealer: ColumnSealer) -> None:
    """A row inserted by hand, with no seal, may not act."""
    assert not _may_act(sealer, Account())


def test_sealed_value_holds_digests_not_secrets() -> None:
    """The sealed text names the password hash and seed only by their SHA-256."""
    value = authz_value(Account())
    assert "argon2id" not in value
    assert "sealed-seed" not in value
    assert value.splitlines()[:4] == ["nurse.siti", "health_officer", "lapas-a", "active"]
