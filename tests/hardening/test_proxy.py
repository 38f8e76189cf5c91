"""X-Forwarded-For is believed only from a configured proxy (VAULT_TRUSTED_PROXIES).

The client address feeds the per-address login limit and every audit event's
client_addr: a header anyone can send must not choose it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.hardening.processes import prepared_world, start_server
from vault.config import Settings, load_settings
from vault.errors import ConfigurationError

SPOOFED = "203.0.113.9"


def _failed_login_address(settings: Settings, tmp_path: Path, **env: str) -> Any:
    world = next(prepared_world(settings))
    server = start_server(settings, tmp_path / "serve.log", **env)
    try:
        with server.client() as client:
            refused = client.post(
                "/v1/auth/login",
                json={"username": "counselor", "password": "not the password"},
                headers={"X-Forwarded-For": SPOOFED},
            )
            assert refused.status_code == 401
            events = client.get(
                "/v1/audit/events",
                params={"action": "auth.login", "decision": "deny"},
                headers=world.auth("compliance"),
            ).json()["events"]
    finally:
        server.kill()
    return events[-1]["client_addr"]


def test_a_forwarded_address_from_an_untrusted_peer_is_ignored(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    """A forwarded address from an untrusted peer is ignored."""
    assert _failed_login_address(sqlite_settings, tmp_path) == "127.0.0.1"


def test_a_configured_proxy_names_the_client(sqlite_settings: Settings, tmp_path: Path) -> None:
    """A configured proxy names the client."""
    address = _failed_login_address(
        sqlite_settings, tmp_path, VAULT_TRUSTED_PROXIES='["127.0.0.1/32"]'
    )
    assert address == SPOOFED


def test_a_bad_proxy_entry_refuses_to_start() -> None:
    """A bad proxy entry refuses to start."""
    with pytest.raises(ConfigurationError, match="TRUSTED_PROXIES"):
        load_settings(trusted_proxies=["not-an-address"])
