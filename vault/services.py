"""The vault's long-lived parts, built once from settings and shared by every request.

``build_services`` is the only place that wires capabilities together; the
HTTP app and the CLI both use it, so they cannot drift apart.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from vault.access.engine import PolicyEngine
from vault.access.facts import AccessFacts
from vault.access.service import AccessService
from vault.access.wiring import load_policy_engine
from vault.audit.log import AuditLog
from vault.config import KeyProviderName, Settings
from vault.consent.pepper import PIN_PEPPER_LABEL, PepperedPins
from vault.consent.service import ConsentService
from vault.crypto.blind_index import BlindIndex
from vault.crypto.columns import ColumnSealer
from vault.crypto.hpke import HANDOVER_KEY_LABEL, HandoverKey
from vault.crypto.providers.base import KeyProvider
from vault.crypto.signing_keys import CurrentSigner
from vault.db import Database, utcnow
from vault.handover.proof import ExportProver
from vault.handover.received import WithdrawalNotices
from vault.handover.service import HandoverService
from vault.honeytokens.watch import HoneytokenWatch
from vault.identity.passwords import SecretHasher
from vault.identity.service import IdentityService
from vault.keys.service import SubjectKeys
from vault.keys.wiring import build_key_services
from vault.records.catalog import Catalog
from vault.records.decisions import DecisionFacts
from vault.records.ratelimit import ReadLimiter
from vault.records.reading import RecordReader
from vault.records.service import RecordsService
from vault.records.writing import RecordWriter
from vault.statistics.service import StatisticsService
from vault.subjects.service import SubjectsService
from vault.subjects.visibility import SubjectVisibility

log = logging.getLogger("vault")


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Callable[[], datetime]
    keys: KeyProvider
    subject_keys: SubjectKeys
    blind_index: BlindIndex
    signer: CurrentSigner
    audit: AuditLog
    hasher: SecretHasher
    identity: IdentityService
    policy: PolicyEngine
    access_facts: AccessFacts
    access: AccessService
    consents: ConsentService
    catalog: Catalog
    records: RecordsService
    subjects: SubjectsService
    # Seals column values to their rows (TOTP seeds, receipts, authorisation bindings).
    sealer: ColumnSealer
    # Handover bundles between vaults, their withdrawal notices, and outcome statistics.
    handover: HandoverService
    handover_notices: WithdrawalNotices
    statistics: StatisticsService

    @property
    def inline_key_work(self) -> bool:
        """Whether unwrapping a subject's key may run on the event loop (keys in memory)."""
        return self.settings.key_provider is KeyProviderName.FILE

    @property
    def inline_store_work(self) -> bool:
        """Whether store reads may run on the event loop (``vault.threads``)."""
        return self.db.is_sqlite and self.inline_key_work

    def close(self) -> None:
        self.audit.close()
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
    audit = AuditLog(
        settings.database_url,
        clock=clock,
        signer=key_services.signer,
        checkpoint_every=settings.audit_checkpoint_every,
        checkpoint_seconds=settings.audit_checkpoint_seconds,
        batch_max=settings.audit_batch_max,
        # An embedded store's record reads are decided on the loop: their events are
        # committed there too (vault.audit.loop_commit).
        on_loop=db.is_sqlite,
    )
    hasher = SecretHasher(settings.argon2_profile)
    # Subjects' PINs: argon2id over an HMAC under a key of the key provider (the pepper).
    pins = PepperedPins(hasher, key_services.keys.derive_secret(PIN_PEPPER_LABEL))
    # The date-of-birth source (services.records) is bound where records are built.
    sealer = key_services.sealer  # seal key versions pinned in the store
    consents = ConsentService(
        settings,
        db,
        clock,
        audit=audit,
        hasher=pins,
        signer=key_services.signer,
        sealer=sealer,
    )
    policy = load_policy_engine(settings, audit)
    identity = IdentityService(db, hasher, settings, audit, clock, sealer=sealer, policy=policy)
    consents.policy = policy
    consents.people = identity  # the two-person rule of PIN resets
    access = AccessService(
        db, policy, audit, settings, clock, sealer=sealer, people=identity, consents=consents
    )
    catalog = Catalog.load(settings.policies_dir / "catalog.toml")
    access_facts = AccessFacts()
    writer = RecordWriter(catalog=catalog, clock=clock)
    subjects = SubjectsService(
        db=db,
        policy=policy,
        audit=audit,
        visibility=SubjectVisibility(consents=consents, clock=clock),
        blind_index=key_services.blind_index,
        subject_keys=key_services.subject_keys,
        records=writer,
        pins=pins,
        distinct_people=identity.distinct_people,
        clock=clock,
    )
    decisions = DecisionFacts(consents=consents, facts=access_facts, policy=policy, clock=clock)
    inline_keys = settings.key_provider is KeyProviderName.FILE
    reader = RecordReader(
        db=db,
        catalog=catalog,
        policy=policy,
        subjects=subjects,
        subject_keys=key_services.subject_keys,
        audit=audit,
        decisions=decisions,
        clock=clock,
        read_limiter=(
            ReadLimiter(settings.read_limit_per_minute, 60.0)
            if settings.read_limit_per_minute
            else None
        ),
        inline_store=db.is_sqlite and inline_keys,
        inline_keys=inline_keys,
    )
    records = RecordsService.beside(reader, writer)
    consents.facts = records
    # A guardian's identity is sealed under the child's data key: rotated with it.
    consents.keys = key_services.subject_keys
    records.also_resealed.append(consents.reseal_guardians)
    handover = HandoverService(
        db=db,
        clock=clock,
        audit=audit,
        policy=policy,
        signer=key_services.signer,
        key=HandoverKey(key_services.keys.derive_secret(HANDOVER_KEY_LABEL)),
        consents=consents,
        subjects=subjects,
        subject_keys=key_services.subject_keys,
        writer=writer,
        catalog=catalog,
        sealer=sealer,
        lifetime=timedelta(days=settings.handover_bundle_days),
        prove=ExportProver(audit),
        unproven_partners=frozenset(settings.handover_unproven_partners),
    )
    handover_notices = WithdrawalNotices(
        db=db,
        clock=clock,
        audit=audit,
        signer=key_services.signer,
        consents=consents,
        handover=handover,
        assignments=access_facts,
    )
    statistics = StatisticsService(
        db=db,
        clock=clock,
        audit=audit,
        policy=policy,
        consents=consents,
        subject_keys=key_services.subject_keys,
        catalog=catalog,
        k=settings.statistics_k,
    )
    # Decoy subjects: any read, listing or search that touches one is an alert.
    watch = HoneytokenWatch(
        db,
        audit,
        on_hit=identity.disable_user if settings.honeytoken_disable_reader else None,
    )
    subjects.on_touch = watch.touched
    reader.on_touch = watch.touched
    reader.decoys = watch
    return Services(
        settings=settings,
        db=db,
        clock=clock,
        keys=key_services.keys,
        subject_keys=key_services.subject_keys,
        blind_index=key_services.blind_index,
        signer=key_services.signer,
        audit=audit,
        consents=consents,
        hasher=hasher,
        identity=identity,
        policy=policy,
        access_facts=access_facts,
        catalog=catalog,
        records=records,
        subjects=subjects,
        access=access,
        sealer=sealer,
        handover=handover,
        handover_notices=handover_notices,
        statistics=statistics,
    )
