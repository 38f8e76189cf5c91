"""The vault's long-lived parts, built once from settings and shared by every request.

``build_services`` is the only place that wires capabilities together; the
HTTP app and the CLI both use it, so they cannot drift apart.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from vault.config import Settings
from vault.consent.service import ConsentService
from vault.crypto.blind_index import BlindIndex
from vault.crypto.providers.base import KeyProvider
from vault.crypto.signing import Signer
from vault.db import Database, utcnow
from vault.keys.service import SubjectKeys
from vault.keys.wiring import build_key_services

log = logging.getLogger("vault")


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Callable[[], datetime]
    keys: KeyProvider
    subject_keys: SubjectKeys
    blind_index: BlindIndex
    signer: Signer
    consents: ConsentService

    def close(self) -> None:
        self.keys.close()
        self.db.dispose()


def build_services(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utcnow,
    migrate: bool = False,
) -> Services:
    """Open the store (and migrate it if asked)."""
    db = Database(settings.database_url)
    db.check_reachable()
    if migrate:
        db.migrate()
    key_services = build_key_services(settings, db)
    consents = ConsentService(settings, db, clock)
    return Services(
        settings=settings,
        db=db,
        clock=clock,
        keys=key_services.keys,
        subject_keys=key_services.subject_keys,
        blind_index=key_services.blind_index,
        signer=key_services.signer,
        consents=consents,
    )
