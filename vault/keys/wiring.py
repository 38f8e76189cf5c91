"""Building the key provider and the key services from settings.

The rule that protects data: a keyring is created only for a database that
holds no wrapped data keys. If the database has some and the keyring is
missing, or the keyring lacks a version the database uses, the vault refuses
to start and says which, rather than silently making a new key that would
leave every existing field unreadable.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass

from sqlalchemy import func, inspect, select

from vault.config import Argon2Profile, KeyProviderName, Settings
from vault.crypto.blind_index import BlindIndex
from vault.crypto.columns import ColumnSealer
from vault.crypto.providers.base import KeyProvider
from vault.crypto.providers.file import CHEAP_ARGON2, Argon2Params, FileKeyProvider
from vault.crypto.signing_keys import CurrentSigner
from vault.db import Database
from vault.errors import ConfigurationError
from vault.keys.models import SubjectKey
from vault.keys.pins import (
    KEK_CURRENT,
    KEK_ROTATING,
    PROVIDER_FINGERPRINT,
    drop_pin,
    get_pin,
    pins_table_exists,
    set_pin,
)
from vault.keys.service import SWEEPER, DekCache, SubjectKeys
from vault.keys.versions import INDEX, SEAL, PinnedVersions

log = logging.getLogger("vault.keys")


@dataclass
class KeyServices:
    keys: KeyProvider
    subject_keys: SubjectKeys
    blind_index: BlindIndex
    signer: CurrentSigner
    sealer: ColumnSealer


def argon2_params(settings: Settings) -> Argon2Params:
    """The argon2id cost of sealing the keyring, from the same profile as passwords."""
    if settings.argon2_profile is Argon2Profile.CHEAPEST:
        return CHEAP_ARGON2
    if settings.argon2_profile is Argon2Profile.RFC_9106_HIGH_MEMORY:
        return Argon2Params(iterations=1, memory_kib=2 * 1024 * 1024, lanes=4)
    return Argon2Params()


def wrapped_key_counts(db: Database) -> dict[int, int]:
    """How many wrapped DEKs each KEK version has in the store ({} before migration)."""
    if not inspect(db.engine).has_table(SubjectKey.__tablename__):
        return {}
    table = SubjectKey.__table__  # type: ignore[attr-defined]  # set by SQLModel
    with db.engine.connect() as conn:
        rows = conn.execute(
            select(table.c.kek_version, func.count()).group_by(table.c.kek_version)
        ).all()
    return {int(version): int(count) for version, count in rows}


def open_provider(settings: Settings) -> KeyProvider:
    """The configured provider over existing key material (never creates any)."""
    if settings.key_provider is KeyProviderName.PKCS11:
        from vault.crypto.providers.pkcs11 import Pkcs11KeyProvider

        return Pkcs11KeyProvider.from_settings(settings)
    return FileKeyProvider(settings.keys_dir, settings.keyring_passphrase)


def ensure_provider(settings: Settings, db: Database) -> tuple[KeyProvider, list[str]]:
    """Open the provider, creating its key material on a first run; check it fits the store."""
    report: list[str] = []
    counts = wrapped_key_counts(db)
    if settings.key_provider is KeyProviderName.FILE and not FileKeyProvider.exists(
        settings.keys_dir
    ):
        if counts:
            raise ConfigurationError(
                f"the keyring is missing from VAULT_KEYS_DIR={settings.keys_dir} but the "
                f"database holds {sum(counts.values())} wrapped data keys; restore the "
                "keyring from its backup (a new keyring would make every field unreadable)"
            )
        keyring = FileKeyProvider.create(
            settings.keys_dir, settings.keyring_passphrase, argon2_params(settings)
        )
        provider: KeyProvider = keyring
        sealed = " (sealed with VAULT_KEYRING_PASSPHRASE)" if settings.keyring_passphrase else ""
        report.append(f"keyring created: {keyring.path}{sealed}")
    elif settings.key_provider is KeyProviderName.PKCS11:
        from vault.crypto.providers.pkcs11 import Pkcs11KeyProvider

        provider, created = Pkcs11KeyProvider.ensure(settings, may_create=not counts)
        if created:
            report.append(f"KEK version 1 created in PKCS#11 token {settings.pkcs11_token_label}")
    else:
        provider = open_provider(settings)
    missing = sorted(set(counts) - set(provider.versions()))
    if missing:
        provider.close()
        raise ConfigurationError(
            f"the database holds data keys wrapped under KEK versions {missing}, which the "
            f"{provider.name} key provider does not have (VAULT_KEYS_DIR / token): "
            "wrong keyring for this database?"
        )
    try:
        report.extend(check_pins(db, provider))
    except BaseException:
        provider.close()
        raise
    return provider, report


def check_pins(db: Database, provider: KeyProvider) -> list[str]:
    """Cross-check the provider with what the store pinned; pin on first use.

    Refuses to start when the provider is another one than the data was written
    under (its fingerprint differs), or when its current KEK version is not the
    pinned one (a key planted in a token under a higher version), unless an
    interrupted ``vault keys rotate`` explains it.
    """
    with db.engine.connect() as conn:
        if not pins_table_exists(conn):
            return []
    report: list[str] = []
    fingerprint = provider.fingerprint()
    current = provider.current_version()
    with db.session() as session:
        stored = get_pin(session, PROVIDER_FINGERPRINT)
        if stored is None:
            set_pin(session, PROVIDER_FINGERPRINT, fingerprint)
            report.append(f"key provider pinned: {fingerprint}")
        elif not hmac.compare_digest(stored.encode(), fingerprint.encode()):
            raise ConfigurationError(
                f"the key provider changed under existing data: the store was written under "
                f"{stored.split(':')[0]} provider {stored}, this is {fingerprint}; configure "
                "the provider it was written under (VAULT_KEY_PROVIDER, VAULT_KEYS_DIR, token)"
            )
        pinned = get_pin(session, KEK_CURRENT)
        rotating = get_pin(session, KEK_ROTATING)
        if pinned is None:
            set_pin(session, KEK_CURRENT, str(current))
        elif int(pinned) != current:
            if rotating == pinned and current > int(pinned):
                # `vault keys rotate` made the version and stopped before pinning it.
                set_pin(session, KEK_CURRENT, str(current))
                drop_pin(session, KEK_ROTATING)
                log.warning("KEK version %s pinned (an interrupted rotation made it)", current)
            else:
                raise ConfigurationError(
                    f"the {provider.name} key provider says KEK version {current} is current "
                    f"but the store pinned version {pinned}: a key was added to the provider "
                    "outside `vault keys rotate` (or the wrong keyring/token is configured)"
                )
    return report


def build_key_services(settings: Settings, db: Database) -> KeyServices:
    provider, _ = ensure_provider(settings, db)
    return key_services(settings, provider, db)


def key_services(
    settings: Settings, provider: KeyProvider, db: Database | None = None
) -> KeyServices:
    """The key services; with ``db``, the seal and index key versions pinned in the store
    (without: version 1 of each, for tools that never rotate them)."""
    cache = DekCache(settings.dek_cache_size, settings.dek_cache_ttl_seconds)
    SWEEPER.register(cache)
    seal_versions = PinnedVersions(db, SEAL) if db is not None else None
    index_versions = PinnedVersions(db, INDEX) if db is not None else None
    return KeyServices(
        keys=provider,
        subject_keys=SubjectKeys(provider, cache),
        blind_index=BlindIndex(provider.derive_secret, index_versions),
        signer=CurrentSigner(provider),
        sealer=ColumnSealer(derive=provider.derive_secret, versions=seal_versions),
    )
