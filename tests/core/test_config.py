"""``vault.config``: bad settings stop the vault with the variable named; good ones normalise."""

from __future__ import annotations

from typing import Any

import pytest

from vault.config import Argon2Profile, KeyProviderName, load_settings
from vault.errors import ConfigurationError

SQLITE = "sqlite:///vault.db"


def _load(monkeypatch: pytest.MonkeyPatch, **values: Any) -> Any:
    for name in ("VAULT_DATABASE_URL", "VAULT_TESTING", "VAULT_ARGON2_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    return load_settings(**({"database_url": SQLITE} | values))


def test_plain_postgresql_url_uses_the_psycopg_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    """``postgresql://`` is read as ``postgresql+psycopg://``; SQLite is left as given."""
    settings = _load(monkeypatch, database_url="postgresql://vault@db/vault")
    assert settings.database_url == "postgresql+psycopg://vault@db/vault"
    assert not settings.is_sqlite
    assert _load(monkeypatch).is_sqlite


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"database_url": "mysql://db/vault"}, "VAULT_DATABASE_URL"),
        ({"trusted_proxies": ["10.0.0.0/8", "proxy.local"]}, "VAULT_TRUSTED_PROXIES"),
        ({"log_level": "chatty"}, "VAULT_LOG_LEVEL"),
        ({"alert_time_zone": "Mars/Olympus"}, "VAULT_ALERT_TIME_ZONE"),
    ],
)
def test_bad_setting_is_refused_naming_its_variable(
    monkeypatch: pytest.MonkeyPatch, values: dict[str, Any], named: str
) -> None:
    """The error says which VAULT_ variable to fix."""
    with pytest.raises(ConfigurationError, match=named):
        _load(monkeypatch, **values)


def test_pkcs11_provider_needs_its_module_token_and_pin(monkeypatch: pytest.MonkeyPatch) -> None:
    """Choosing the HSM without saying where it is stops the vault, listing what is missing."""
    with pytest.raises(ConfigurationError) as refused:
        _load(monkeypatch, key_provider=KeyProviderName.PKCS11, pkcs11_module="/lib/softhsm2.so")
    message = str(refused.value)
    assert "VAULT_PKCS11_TOKEN_LABEL" in message
    assert "VAULT_PKCS11_PIN" in message
    assert "VAULT_PKCS11_MODULE" not in message


def test_cheap_password_hashing_only_in_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test-only argon2 profile is refused unless testing is switched on."""
    with pytest.raises(ConfigurationError, match="only allowed with VAULT_TESTING=1"):
        _load(monkeypatch, argon2_profile=Argon2Profile.CHEAPEST)
    assert _load(monkeypatch, argon2_profile="cheapest", testing=True).testing


def test_log_level_is_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    """``debug`` and ``DEBUG`` are the same level."""
    assert _load(monkeypatch, log_level="debug").log_level == "DEBUG"


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A VAULT_ variable in the environment sets the value."""
    monkeypatch.setenv("VAULT_LOG_LEVEL", "warning")
    assert _load(monkeypatch).log_level == "WARNING"
