"""``vault.identity.accounts``: accounts made over the API wait for a second person; the
two-person rule knows who made whom."""

from __future__ import annotations

import uuid

import pytest

from tests.support import DEFAULT_PASSWORD, ensure_organization
from vault.errors import Conflict, Forbidden, InvalidInput, NotFound
from vault.identity.standing import AccountStatus
from vault.services import Services
from vault.vocabulary import AuthenticatedUser

ORG = "lapas-a"


def _host_user(services: Services, name: str, role: str, org: str = ORG) -> AuthenticatedUser:
    """An account made on the host (active at once), as it would be logged in."""
    ensure_organization(services, org)
    view = services.identity.create_user(name, DEFAULT_PASSWORD, role, org)
    return AuthenticatedUser(view.id, view.username, role, org, uuid.uuid4())


def test_account_made_on_the_host_is_active_and_over_the_api_pending(services: Services) -> None:
    """The host's command line is trusted; an administrator's account needs a second person."""
    admin = _host_user(services, "admin-a", "admin")
    assert services.identity.user(admin.id).status is AccountStatus.ACTIVE
    made = services.identity.create_user(
        "counselor-new", DEFAULT_PASSWORD, "counselor", ORG, actor=admin
    )
    assert made.status is AccountStatus.PENDING


def test_second_person_approves_a_pending_account_once(services: Services) -> None:
    """A compliance officer approves the admin's new account; approving again is a conflict."""
    admin = _host_user(services, "admin-a", "admin")
    compliance = _host_user(services, "compliance-a", "compliance_officer")
    made = services.identity.create_user(
        "counselor-new", DEFAULT_PASSWORD, "counselor", ORG, actor=admin
    )
    approved = services.identity.approve_user(made.id, compliance)
    # Its holder, not the admin who typed the first password, activates it.
    assert approved.user.status is AccountStatus.AWAITING_ACTIVATION
    assert approved.activation_code
    with pytest.raises(Conflict, match="not waiting for approval"):
        services.identity.approve_user(made.id, compliance)


def test_creator_cannot_approve_their_own_account(services: Services) -> None:
    """The administrator who made an account is not the second person for it."""
    admin = _host_user(services, "admin-a", "admin")
    other_admin = _host_user(services, "admin-b", "admin")
    made = services.identity.create_user("admin-new", DEFAULT_PASSWORD, "admin", ORG, actor=admin)
    with pytest.raises(Forbidden):
        services.identity.approve_user(made.id, admin)
    approved = services.identity.approve_user(made.id, other_admin)
    assert approved.user.status is AccountStatus.AWAITING_ACTIVATION


def test_other_organisations_accounts_look_missing(services: Services) -> None:
    """Approving, disabling or viewing another organisation's account answers "no such user"."""
    compliance = _host_user(services, "compliance-a", "compliance_officer")
    elsewhere = _host_user(services, "officer-b", "officer", "lapas-b")
    with pytest.raises(NotFound, match="No such user"):
        services.identity.user(elsewhere.id, compliance)
    with pytest.raises(NotFound, match="No such user"):
        services.identity.approve_user(elsewhere.id, compliance)


def test_nobody_disables_their_own_account(services: Services) -> None:
    """An administrator locking themselves out is refused; another account is disabled."""
    admin = _host_user(services, "admin-a", "admin")
    officer = _host_user(services, "officer-a", "officer")
    with pytest.raises(Conflict, match="own account"):
        services.identity.disable_user(admin.id, admin)
    assert services.identity.disable_user(officer.id, admin).status is AccountStatus.DISABLED


@pytest.mark.parametrize(
    ("username", "role", "password", "organization", "error"),
    [
        ("ab", "counselor", DEFAULT_PASSWORD, ORG, InvalidInput),
        ("counselor-x", "warden", DEFAULT_PASSWORD, ORG, InvalidInput),
        ("counselor-x", "counselor", "short", ORG, InvalidInput),
        ("counselor-x", "counselor", DEFAULT_PASSWORD, "lapas-nowhere", NotFound),
    ],
)
def test_malformed_account_is_refused(
    services: Services,
    username: str,
    role: str,
    password: str,
    organization: str,
    error: type[Exception],
) -> None:
    """A bad username, unknown role, weak password or unknown organisation is refused."""
    ensure_organization(services, ORG)
    with pytest.raises(error):
        services.identity.create_user(username, password, role, organization)


def test_username_is_taken_once(services: Services) -> None:
    """A second account with the same name is a conflict."""
    _host_user(services, "officer-a", "officer")
    with pytest.raises(Conflict, match="taken"):
        services.identity.create_user("officer-a", DEFAULT_PASSWORD, "officer", ORG)


def test_two_person_rule_knows_who_made_whom(services: Services) -> None:
    """Oneself, one's creator or creation, and two accounts of one maker are one person."""
    admin = _host_user(services, "admin-a", "admin")
    host_made = _host_user(services, "compliance-a", "compliance_officer")
    first = services.identity.create_user("made-one", DEFAULT_PASSWORD, "officer", ORG, actor=admin)
    second = services.identity.create_user(
        "made-two", DEFAULT_PASSWORD, "officer", ORG, actor=admin
    )
    people = services.identity.distinct_people
    assert not people(admin.id, admin.id)
    assert not people(admin.id, first.id)
    assert not people(first.id, second.id)
    assert not people(admin.id, uuid.uuid4())
    assert people(admin.id, host_made.id)
    assert people(first.id, host_made.id)
