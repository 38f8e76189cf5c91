"""``HandoverService``: export a subject's case to another vault, import one, and notices.

Export (holding organisation): decided by the policy (``handover.export``),
allowed only under an active consent to ``handover_kemensos`` that names the
recipient; carries only the categories that consent covers. Import
(recipient): verifies the bundle (``vault.handover.bundle``) and its consent
receipt, refuses replays, registers a new subject in the importer's
organisation and writes the records under that subject's own key, each with
its provenance. Every refusal happens before anything is written.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from vault.audit.events import AuditEvent, AuditSink, Outcome
from vault.consent.model import Actor
from vault.consent.service import ConsentService
from vault.crypto.columns import ColumnSealer
from vault.crypto.hpke import HandoverKey, public_jwk_key
from vault.crypto.signing import read_key_set
from vault.crypto.signing_keys import CurrentSigner
from vault.db import Database
from vault.errors import Forbidden, InvalidInput
from vault.handover.bundle import REDISCLOSURE_NOTICE, BundleRefused, open_bundle, seal_bundle
from vault.handover.checks import (
    HANDOVER_PURPOSE,
    Partner,
    checked_records,
    consent_of,
    peek_sender,
)
from vault.handover.forks import heads_of, keep_heads, refuse_forks
from vault.handover.importing import write_import
from vault.handover.models import (
    HandoverExport,
    HandoverImport,
    HandoverPartner,
    HandoverProvenance,
    HandoverWithdrawal,
)
from vault.handover.partners import PartnerUnsealed, record_partner, trusted_partner
from vault.handover.proof import export_proof_status, log_keys_of
from vault.records.catalog import Catalog
from vault.records.fieldcrypt import open_record
from vault.records.rows import ciphertexts, record_rows
from vault.records.writing import IDENTITY_RECORD_TYPE, RecordWriter
from vault.subjects.registration import NewSubject
from vault.subjects.service import SubjectsService
from vault.vocabulary import Action, Category, EventAction, OperationFacts, Principal

__all__ = ["HANDOVER_PURPOSE", "HandoverService", "Partner", "Provenance"]

DEFAULT_LIFETIME = timedelta(days=7)


@dataclass(frozen=True)
class Provenance:
    sender: str
    bundle_id: uuid.UUID
    consent_id: uuid.UUID


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass
class HandoverService:
    db: Database
    clock: Callable[[], datetime]
    audit: AuditSink
    policy: Any  # vault.access.engine.PolicyEngine (authorize)
    signer: CurrentSigner
    key: HandoverKey
    consents: ConsentService
    subjects: SubjectsService
    subject_keys: Any  # vault.keys.service.SubjectKeys
    writer: RecordWriter
    catalog: Catalog
    # Seals each trusted partner's keys (vault.handover.partners).
    sealer: ColumnSealer
    lifetime: timedelta = field(default=DEFAULT_LIFETIME)
    # Signs a tree head covering the export event and returns its inclusion proof
    # (vault.handover.proof.ExportProver); None: bundles carry no proof.
    prove: Callable[[int], dict[str, Any] | None] | None = None
    # Partners whose bundles are taken unproven (VAULT_HANDOVER_UNPROVEN_PARTNERS): from
    # the configuration, never the database, so emptying log keys there waives nothing.
    unproven_partners: frozenset[str] = frozenset()

    # -- partners ------------------------------------------------------------------

    def trust_partner(
        self,
        organization: str,
        jwks: Mapping[str, Any],
        encryption_jwk: Mapping[str, str],
        log_keys: Sequence[str] = (),
    ) -> None:
        """Record (or replace) a partner vault's published keys, sealed (an operator's act).

        ``log_keys``: the partner's audit log verifier keys; given, every bundle from
        it must carry a proof, verifying under them, that its export was logged. The
        audit event names the digest of what is sealed, before the row is written."""
        try:
            keys = read_key_set(jwks)
            public_jwk_key(encryption_jwk)
            vkeys = log_keys_of(list(log_keys))
        except (ValueError, TypeError) as exc:
            raise InvalidInput(f"partner keys: {exc}") from None
        if not organization or len(organization) > 64:
            raise InvalidInput("organization: 1 to 64 characters")
        record_partner(
            self.db,
            self.sealer,
            self.audit,
            HandoverPartner(
                organization=organization,
                signing_jwks=json.dumps(keys),
                encryption_jwk=json.dumps(dict(encryption_jwk)),
                log_keys=json.dumps(vkeys),
            ),
        )

    def partner(self, session: Session, organization: str) -> Partner | None:
        """The partner as sealed (None: never trusted), or ``PartnerUnsealed``."""
        return trusted_partner(session, self.sealer, organization)

    # -- export --------------------------------------------------------------------

    def _refuse(
        self, principal: Principal, action: EventAction, reason: str, **fields: Any
    ) -> None:
        self.audit.append(AuditEvent.by(principal, action, Outcome.DENY, reason=reason, **fields))

    def export(self, principal: Principal, subject_id: uuid.UUID, recipient: str) -> dict[str, Any]:
        """A signed, sealed bundle of the subject's case for ``recipient``."""
        now = self.clock()
        with self.db.read_session() as session:
            subject = self.subjects.gate(session, principal, Action.HANDOVER_EXPORT, subject_id)
            try:
                partner = self.partner(session, recipient)
            except PartnerUnsealed:
                reason = "the recipient's trusted keys were changed outside the vault"
                self._refuse(principal, EventAction.HANDOVER_EXPORT, reason, subject_id=subject_id)
                raise
        grant = next(
            (
                g
                for g in self.consents.active_consents(subject_id, now)
                if g.purpose == HANDOVER_PURPOSE and recipient in g.recipients
            ),
            None,
        )
        if grant is None:
            self._refuse(
                principal,
                EventAction.HANDOVER_EXPORT,
                "no active handover consent names the recipient",
                subject_id=subject_id,
            )
            raise Forbidden(f"No active {HANDOVER_PURPOSE} consent names {recipient[:64]}.")
        if partner is None:
            self._refuse(
                principal,
                EventAction.HANDOVER_EXPORT,
                "recipient is not a trusted partner",
                subject_id=subject_id,
            )
            raise InvalidInput(f"recipient: {recipient[:64]} is not a trusted partner vault")
        receipt = self.consents.receipt(Actor.staff(principal), grant.consent_id)
        categories = sorted(c.value for c in grant.categories)
        records = self._covered_records(subject_id, grant.categories)
        bundle_id = uuid.uuid4()
        seq = self.audit.append(
            AuditEvent.by(
                principal,
                EventAction.HANDOVER_EXPORT,
                Outcome.ALLOW,
                subject_id=subject_id,
                consent_id=grant.consent_id,
                purpose=HANDOVER_PURPOSE,
                categories=tuple(categories),
                details={"recipient": recipient, "bundle_id": str(bundle_id)},
            )
        )
        content = {
            "subject": {"records": records},
            "consent": {
                "id": str(grant.consent_id),
                "purpose": HANDOVER_PURPOSE,
                "categories": categories,
                "receipt": receipt,
            },
            "notice": REDISCLOSURE_NOTICE,
            "export_event_seq": seq,
            "export_proof": self.prove(seq) if self.prove is not None else None,
        }
        clear = {
            "bundle_id": str(bundle_id),
            "sender": subject.organization,
            "recipient": recipient,
            "recipient_kid": str(partner.encryption_jwk.get("kid", "")),
            "consent_id": str(grant.consent_id),
            "created_at": _iso(now),
            "expires_at": _iso(now + self.lifetime),
        }
        current = self.signer.current()
        bundle = seal_bundle(
            clear=clear,
            recipient_public_raw=public_jwk_key(partner.encryption_jwk),
            content=content,
            kid=current.key_id,
            sign=current.sign,
        )
        with self.db.session() as session:
            session.add(
                HandoverExport(
                    bundle_id=bundle_id,
                    subject_id=subject_id,
                    consent_id=grant.consent_id,
                    sender=subject.organization,
                    recipient=recipient,
                    exported_at=now,
                )
            )
        return bundle

    def _covered_records(
        self, subject_id: uuid.UUID, categories: frozenset[Category]
    ) -> list[dict[str, Any]]:
        """The current records, each with only the fields of the covered categories."""
        out: list[dict[str, Any]] = []
        with self.db.read_session() as session:
            dek = self.subject_keys.data_key(session, subject_id)
            for record in record_rows(session, subject_id):
                if record.superseded_at is not None:
                    continue
                stored = ciphertexts(session, record.id)
                wanted = [
                    name
                    for name in stored
                    if self.catalog.category_of(record.record_type, name) in categories
                ]
                if not wanted:
                    continue
                fields = open_record(dek, subject_id, record, stored, wanted)
                out.append({"type": record.record_type, "fields": dict(fields)})
        return out

    # -- import --------------------------------------------------------------------

    def import_bundle(self, principal: Principal, text: str | bytes) -> dict[str, str]:
        """Verify a bundle addressed to the principal's organisation and take the case in."""
        try:
            return self._import(principal, text)
        except BundleRefused as refused:
            self._refuse(principal, EventAction.HANDOVER_IMPORT, refused.reason)
            raise

    def _import(self, principal: Principal, text: str | bytes) -> dict[str, str]:
        decision = self.policy.authorize(
            principal,
            Action.HANDOVER_IMPORT,
            OperationFacts(target_org=principal.organization),
        )
        if not decision.allowed:
            self._refuse(principal, EventAction.HANDOVER_IMPORT, decision.reason)
            raise Forbidden(f"Not allowed to import handover bundles: {decision.reason}")
        now = self.clock()
        sender = peek_sender(text)
        with self.db.read_session() as session:
            try:
                partner = self.partner(session, sender)
            except PartnerUnsealed as unsealed:
                raise BundleRefused("partner-unsealed", unsealed.detail) from None
        if partner is None:
            raise BundleRefused("unknown-sender", "the sender is not a trusted partner vault")
        opened = open_bundle(
            text,
            sender_keys=partner.signing_keys,
            own_organization=principal.organization,
            own_key=self.key,
            now=now,
        )
        envelope = opened.envelope
        consent = consent_of(opened.content, envelope, partner, principal.organization, now)
        proof = export_proof_status(
            opened.content.get("export_proof"), envelope, partner, self.unproven_partners
        )
        heads = heads_of(opened.content.get("export_proof")) if proof == "checked" else []
        refuse_forks(self.db, partner.organization, heads)
        records = checked_records(self.catalog, self.writer, opened.content, consent["categories"])
        bundle_id = uuid.UUID(envelope["bundle_id"])
        consent_id = uuid.UUID(envelope["consent_id"])
        if self._imported(bundle_id):
            raise BundleRefused("replayed", "this bundle was imported before")
        if self.withdrawn(consent_id):
            raise BundleRefused("withdrawn", "the subject withdrew the consent of this bundle")
        identity = next((r for r in records if r["type"] == IDENTITY_RECORD_TYPE), None)
        if identity is None:
            raise BundleRefused("no-identity", "the bundle carries no identity record")
        ident = identity["fields"]
        try:
            new = NewSubject(
                full_name=ident["full_name"],
                nik=ident["nik"],
                register_number=ident["register_number"],
                date_of_birth=date.fromisoformat(ident["date_of_birth"]),
                # No PIN: the subject chooses one at the recipient's kiosk.
                organization=principal.organization,
            )
        except (KeyError, ValueError):
            raise BundleRefused("malformed", "the identity record is incomplete") from None
        prepared = self.subjects.prepare_registration(principal, new)
        subject_id = prepared.subject_id
        # Audit before the write (on SQLite the write holds the only write lock); a
        # failure after it is audited too, and then nothing of the bundle is stored.
        self.audit.append(
            AuditEvent.by(
                principal,
                EventAction.HANDOVER_IMPORT,
                Outcome.ALLOW,
                subject_id=subject_id,
                consent_id=consent_id,
                purpose=HANDOVER_PURPOSE,
                categories=tuple(consent["categories"]),
                details={
                    "sender": partner.organization,
                    "bundle_id": str(bundle_id),
                    "export_proof": proof,
                },
            )
        )
        try:
            write_import(
                self.db,
                self.subjects,
                self.writer,
                principal,
                prepared,
                records,
                HandoverImport(
                    bundle_id=bundle_id,
                    sender=partner.organization,
                    consent_id=consent_id,
                    subject_id=subject_id,
                    imported_at=now,
                    consent_expires_at=consent["expires_at"],
                ),
            )
        except Exception as exc:
            self.audit.append(
                AuditEvent.by(
                    principal,
                    EventAction.HANDOVER_IMPORT,
                    Outcome.ERROR,
                    subject_id=subject_id,
                    reason=f"the import failed and stored nothing ({type(exc).__name__})",
                    details={"sender": partner.organization, "bundle_id": str(bundle_id)},
                )
            )
            if isinstance(exc, IntegrityError) and self._imported(bundle_id):
                raise BundleRefused("replayed", "this bundle was imported before") from None
            raise
        keep_heads(self.db, partner.organization, heads)
        return {
            "subject_id": str(subject_id),
            "bundle_id": str(bundle_id),
            "sender": partner.organization,
            "consent_id": str(consent_id),
        }

    def _imported(self, bundle_id: uuid.UUID) -> bool:
        with self.db.read_session() as session:
            return (
                session.exec(
                    select(HandoverImport).where(col(HandoverImport.bundle_id) == bundle_id)
                ).first()
                is not None
            )

    # -- provenance and withdrawal -------------------------------------------------

    def provenance(self, record_id: uuid.UUID) -> Provenance | None:
        """Where an imported record came from (None: it was not imported)."""
        with self.db.read_session() as session:
            row = session.exec(
                select(HandoverProvenance).where(col(HandoverProvenance.record_id) == record_id)
            ).first()
            if row is None:
                return None
            return Provenance(row.sender, row.bundle_id, row.consent_id)

    def withdrawn(self, consent_id: uuid.UUID) -> bool:
        with self.db.read_session() as session:
            return (
                session.exec(
                    select(HandoverWithdrawal).where(
                        col(HandoverWithdrawal.consent_id) == consent_id
                    )
                ).first()
                is not None
            )
