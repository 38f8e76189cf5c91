"""``vault init``: schema, keyring and signing key, idempotently."""

from __future__ import annotations

from vault.config import Settings
from vault.db import Database


def initialise(settings: Settings) -> list[str]:
    """Bring a store and keyring to a usable state; return what was done, line by line.

    The keyring (file provider) or the token's keys (pkcs11) are created only
    when the database holds no wrapped data keys; otherwise a missing keyring
    stops here with a message naming ``VAULT_KEYS_DIR``.
    """
    from vault.keys.wiring import ensure_provider

    report: list[str] = []
    db = Database(settings.database_url)
    try:
        db.check_reachable()
        db.migrate()
        report.append(f"database ready: {_redact(settings.database_url)}")
        provider, created = ensure_provider(settings, db)
        try:
            report.extend(created)
            versions = provider.versions()
            report.append(
                f"key provider {provider.name}: KEK versions {versions}, "
                f"current {provider.current_version()}"
            )
            signing = provider.signing_registry().current
            report.append(f"signing key ready: kid {signing.kid} (version {signing.version})")
        finally:
            provider.close()
    finally:
        db.dispose()
    return report


def _redact(url: str) -> str:
    """The URL without a password, for printing."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
