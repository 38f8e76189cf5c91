"""Organisations, staff accounts and their approval, logins, bearer tokens, TOTP and login limits.

``vault.identity.service.IdentityService`` is the capability's service; its
parts live in ``organizations``, ``accounts``, ``logins`` and ``mfa``.
"""

__all__: list[str] = []
