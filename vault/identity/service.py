"""The identity service: organisations, accounts, logins and tokens, second factors.

One class made of one part per responsibility, each in its own module:
``organizations`` (the organisations accounts belong to), ``accounts`` (create,
approve, disable, look up; the two-person rule), ``logins`` (logins, bearer
tokens, the failed-login limits), ``activation`` (the holder of an approved
account makes it theirs) and ``mfa`` (TOTP enrolment). Their shared
state and helpers are in ``core``; whether an account may act now is in
``standing``. Nothing here knows HTTP.
"""

from __future__ import annotations

from vault.identity.accounts import Accounts
from vault.identity.activation import Activation, ApprovedAccount
from vault.identity.core import UserView
from vault.identity.logins import _TOKEN_LOOKUP, IssuedToken
from vault.identity.mfa import SecondFactors, TotpEnrolment
from vault.identity.organizations import Organizations

__all__ = [
    "_TOKEN_LOOKUP",
    "ApprovedAccount",
    "IdentityService",
    "IssuedToken",
    "TotpEnrolment",
    "UserView",
]


class IdentityService(Organizations, Accounts, Activation, SecondFactors):
    """Organisations, accounts, logins and tokens, second factors (see the parts)."""
