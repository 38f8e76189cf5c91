"""Helpers every capability's tests use to get users and bearer tokens.

``create_user`` goes through the identity service (so the user is real: hashed
password, organisation row); the organisation is created on first use.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from vault.errors import Conflict
from vault.services import Services

DEFAULT_PASSWORD = "correct horse battery staple"


def ensure_organization(services: Services, code: str) -> None:
    """Create the organisation ``code`` if it does not exist yet."""
    agency = "kemensos" if code.startswith("sentra") else "imipas"
    with contextlib.suppress(Conflict):
        services.identity.create_organization(code, code.replace("-", " ").title(), agency)


def create_user(
    services: Services,
    username: str,
    role: str,
    organization: str,
    password: str = DEFAULT_PASSWORD,
) -> uuid.UUID:
    """A user with that role in that organisation (created if needed); returns the user id."""
    ensure_organization(services, organization)
    return services.identity.create_user(username, password, role, organization).id


def login(client: Any, username: str, password: str = DEFAULT_PASSWORD) -> dict[str, str]:
    """Log in through the HTTP API; returns the Authorization header to send."""
    response = client.post("/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
