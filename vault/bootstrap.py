"""``vault init``: schema, keyring and signing key, idempotently."""

from __future__ import annotations

from vault.config import Settings
from vault.db import Database


def initialise(settings: Settings) -> list[str]:
    """Bring a store and keyring to a usable state; return what was done, line by line."""
    report: list[str] = []
    db = Database(settings.database_url)
    try:
        db.check_reachable()
        db.migrate()
        report.append(f"database ready: {_redact(settings.database_url)}")
    finally:
        db.dispose()
    return report


def _redact(url: str) -> str:
    """The URL without a password, for printing."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
