"""``vault.identity.core``: what others see of an account, and the helpers every part shares."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime

from vault.identity.core import UserView, client_address, normalise_username, via
from vault.identity.models import User
from vault.identity.standing import AccountStatus
from vault.requestctx import RequestInfo, reset_current, set_current
from vault.vocabulary import AuthenticatedUser

WHEN = datetime(2026, 1, 5, tzinfo=UTC)


def _user(**changes: object) -> User:
    user = User(
        username="nurse.siti",
        password_hash="$argon2id$secret-hash",
        role="health_officer",
        organization="lapas-a",
        approved_at=WHEN,
        totp_secret="v1:sealed",
        totp_confirmed=True,
    )
    for name, value in changes.items():
        setattr(user, name, value)
    return user


def test_view_of_an_account_carries_no_secret() -> None:
    """The view others get holds neither the password hash nor the second-factor seed."""
    view = UserView.of(_user())
    shown = repr(dataclasses.asdict(view))
    assert "argon2id" not in shown
    assert "sealed" not in shown
    assert view.mfa_enabled is True


def test_view_status_follows_approval_and_disabling() -> None:
    """Pending until approved, active, and disabled once disabled."""
    assert UserView.of(_user(approved_at=None)).status is AccountStatus.PENDING
    active = UserView.of(_user())
    assert (active.active, active.disabled) == (True, False)
    disabled = UserView.of(_user(disabled_at=WHEN))
    assert (disabled.active, disabled.disabled) == (False, True)


def test_usernames_are_compared_trimmed_and_lower_case() -> None:
    """``  Nurse.Siti `` and ``nurse.siti`` are the same account name."""
    assert normalise_username("  Nurse.Siti ") == "nurse.siti"


def test_via_tells_the_api_from_the_host() -> None:
    """An act with an authenticated actor came over the API; without one, from the host."""
    actor = AuthenticatedUser(uuid.uuid4(), "admin", "admin", "lapas-a", uuid.uuid4())
    assert via(actor) == "api"
    assert via(None) == "cli"


def test_client_address_is_the_requests_or_unknown_and_bounded() -> None:
    """Outside a request the address is "unknown"; inside, the request's, cut to 128."""
    assert client_address() == "unknown"
    token = set_current(RequestInfo(request_id="r-1", client_addr="203.0.113.9" + "x" * 200))
    try:
        address = client_address()
    finally:
        reset_current(token)
    assert address.startswith("203.0.113.9")
    assert len(address) == 128
