"""Settings: one typed object read from ``VAULT_*`` environment variables.

Every field says what it holds. There is no default secret: the keyring is
created by ``vault init`` and the service refuses to start without it.
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from vault.errors import ConfigurationError


class KeyProviderName(StrEnum):
    FILE = "file"
    PKCS11 = "pkcs11"


class Argon2Profile(StrEnum):
    """Named argon2id parameter sets (RFC 9106 section 4)."""

    RFC_9106_LOW_MEMORY = "rfc9106-low-memory"
    RFC_9106_HIGH_MEMORY = "rfc9106-high-memory"
    # Only for tests: fast, weak. The service refuses it unless VAULT_TESTING is set.
    CHEAPEST = "cheapest"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VAULT_", extra="ignore", frozen=True)

    database_url: str = Field(
        default="sqlite:///vault.db",
        description="SQLAlchemy URL of the store: a SQLite file by default, "
        "postgresql+psycopg://... in production.",
    )
    key_provider: KeyProviderName = Field(
        default=KeyProviderName.FILE,
        description="Where the key-encryption key lives: 'file' (a local keyring) "
        "or 'pkcs11' (an HSM).",
    )
    keys_dir: Path = Field(
        default=Path("keys"),
        description="Folder of the local keyring (file provider) and the signing key.",
    )
    keyring_passphrase: str | None = Field(
        default=None,
        repr=False,
        description="Optional passphrase sealing the local keyring (argon2id-derived key).",
    )
    pkcs11_module: Path | None = Field(
        default=None, description="Path of the PKCS#11 module (for example libsofthsm2.so)."
    )
    pkcs11_token_label: str | None = Field(
        default=None, description="Label of the PKCS#11 token holding the KEK."
    )
    pkcs11_pin: str | None = Field(
        default=None, repr=False, description="User PIN of the PKCS#11 token."
    )
    argon2_profile: Argon2Profile = Field(
        default=Argon2Profile.RFC_9106_LOW_MEMORY,
        description="argon2id parameters for passwords and PINs.",
    )
    token_ttl_seconds: int = Field(
        default=8 * 3600, gt=0, description="How long a bearer token stays valid."
    )
    require_mfa: bool = Field(
        default=False,
        description="Require a TOTP second factor for admin and compliance_officer logins.",
    )
    login_max_failures: int = Field(
        default=5, gt=0, description="Failed logins per account or address before 429."
    )
    login_window_seconds: int = Field(
        default=900, gt=0, description="Window over which failed logins are counted."
    )
    pin_max_failures: int = Field(
        default=5, gt=0, description="Wrong kiosk PINs per subject before 429."
    )
    pin_window_seconds: int = Field(
        default=900, gt=0, description="Window over which wrong PINs of a subject are counted."
    )
    break_glass_ttl_seconds: int = Field(
        default=3600, gt=0, description="How long a break-glass grant lasts."
    )
    break_glass_daily_cap: int = Field(
        default=3,
        gt=0,
        description="Break-glass grants one person may open in any 24 hours, over all subjects.",
    )
    max_body_bytes: int = Field(
        default=1_048_576, gt=0, description="Largest accepted request body, in bytes."
    )
    dek_cache_size: int = Field(
        default=1024, ge=0, description="How many unwrapped subject keys to keep in memory."
    )
    dek_cache_ttl_seconds: float = Field(
        default=300.0, ge=0, description="How long an unwrapped subject key stays cached."
    )
    read_limit_per_minute: int = Field(
        default=120,
        ge=0,
        description="Record reads one user may make per minute before 429, counted across "
        "every process from the audit log. 0 turns the limit off (load tests only).",
    )
    statistics_k: int = Field(
        default=5,
        ge=2,
        le=1000,
        description="Outcome statistics: the fewest distinct subjects a released cell may "
        "count; smaller cells (and the cells that would reveal them) are suppressed.",
    )
    handover_bundle_days: int = Field(
        default=7,
        ge=1,
        le=90,
        description="How many days a handover bundle may be imported after it is made.",
    )
    handover_unproven_partners: list[str] = Field(
        default_factory=list,
        description="Partner organisations whose handover bundles are imported without a "
        "proof that their export was logged (a partner vault that signs no tree heads). "
        "Each such import is audited as waived. Empty (the default): a bundle from a "
        "partner trusted without log keys is refused (`unproven`).",
    )
    audit_checkpoint_every: int = Field(
        default=1000, gt=0, description="Sign an audit checkpoint every N events."
    )
    audit_checkpoint_seconds: float = Field(
        default=300.0, gt=0, description="... or every T seconds, whichever comes first."
    )
    audit_head_max_age_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="`vault audit verify` fails when the newest signed tree head is older.",
    )
    audit_head_max_lag: int = Field(
        default=10_000,
        gt=0,
        description="... or when more than N events were appended after it.",
    )
    audit_witness_keys: list[str] = Field(
        default_factory=list,
        description="Witnesses' vkeys (JSON list) whose cosignatures the vault accepts.",
    )
    audit_witness_quorum: int = Field(
        default=0,
        ge=0,
        description="`vault audit verify` fails when a signed tree head older than "
        "audit_witness_seconds has fewer cosignatures than this (0: none required).",
    )
    audit_witness_seconds: float = Field(
        default=3600.0, gt=0, description="How long witnesses have to cosign a head."
    )
    audit_witness_rate_per_minute: int = Field(
        default=60,
        ge=0,
        description="Requests one client address may make per minute to the open witness "
        "routes (/v1/audit/heads/...) before 429. 0 turns the limit off.",
    )
    audit_batch_max: int = Field(
        default=256, gt=0, description="Most audit events committed together (group commit)."
    )
    policies_dir: Path = Field(
        default=Path(__file__).resolve().parent.parent / "policies",
        description="Folder of the Cedar policies, the data catalog and the consent forms.",
    )
    controller_name: str = Field(
        default="Direktorat Jenderal Pemasyarakatan (Imipas)",
        description="The data controller named on consent receipts.",
    )
    allowed_hosts: list[str] = Field(
        default_factory=lambda: ["127.0.0.1", "localhost"],
        description="Host headers the service answers to.",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses or networks (CIDR) of the reverse proxies in front of "
        "`vault serve` whose X-Forwarded-For and X-Forwarded-Proto are believed. Empty "
        "(the default): none, the peer's own address is the client's.",
    )
    log_level: str = Field(default="INFO", description="Log level of the service.")
    kiosk_idle_seconds: int = Field(
        default=300, gt=0, description="A kiosk signing session ends after this much inactivity."
    )
    dashboard_idle_seconds: int = Field(
        default=900, gt=0, description="A staff web session (dashboard) ends after this idle time."
    )
    web_session_max_seconds: int = Field(
        default=43200,
        gt=0,
        description="A browser session (kiosk staff, kiosk, dashboard) ends this long after "
        "it was opened, however active it is.",
    )
    alert_bulk_subjects_per_hour: int = Field(
        default=20,
        gt=0,
        description="Alert when one person reads more distinct subjects in one hour.",
    )
    alert_work_start: int = Field(
        default=7, ge=0, le=23, description="Working hours start (hour, in VAULT_ALERT_TIME_ZONE)."
    )
    alert_work_end: int = Field(
        default=18, ge=1, le=24, description="Working hours end (hour, exclusive)."
    )
    alert_time_zone: str = Field(
        default="Asia/Jakarta", description="Time zone of the working hours (IANA name)."
    )
    alert_break_glass_max: int = Field(
        default=3, ge=0, description="Alert when one person opens more break-glass grants."
    )
    alert_denied_burst: int = Field(
        default=10, gt=0, description="Alert at this many refused reads by one person in 10 min."
    )
    alert_window_days: int = Field(
        default=30, ge=1, le=366, description="How many days of the log the alert rules read."
    )
    access_review_days: int = Field(
        default=90,
        ge=7,
        le=366,
        description="An account or care-team assignment not confirmed in the access review "
        "for this many days is overdue (quarterly by default).",
    )
    access_review_page_size: int = Field(
        default=50,
        ge=5,
        le=500,
        description="How many accounts and assignments one page of the access review shows "
        "(the dashboard's page and GET /v1/audit/access-review).",
    )
    honeytoken_disable_reader: bool = Field(
        default=False,
        description="Disable the account (ending its tokens and sessions) of anyone who "
        "touches a honeytoken subject.",
    )
    testing: bool = Field(
        default=False, description="Allow test-only settings (cheap argon2). Never in production."
    )

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite:/// or postgresql+psycopg:// URL")
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network") from None
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return level

    @field_validator("alert_time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone such as Asia/Jakarta") from None
        return value

    @model_validator(mode="after")
    def _coherent(self) -> Settings:
        if self.key_provider is KeyProviderName.PKCS11:
            missing = [
                f"VAULT_{name.upper()}"
                for name in ("pkcs11_module", "pkcs11_token_label", "pkcs11_pin")
                if getattr(self, name) in (None, "")
            ]
            if missing:
                raise ValueError(f"the pkcs11 key provider needs {', '.join(missing)}")
        if self.argon2_profile is Argon2Profile.CHEAPEST and not self.testing:
            raise ValueError("VAULT_ARGON2_PROFILE=cheapest is only allowed with VAULT_TESTING=1")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment; raise ConfigurationError naming the bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"])
            name = f"VAULT_{where.upper()}" if where else "settings"
            problems.append(f"{name}: {error['msg']}")
        raise ConfigurationError("; ".join(problems)) from None
