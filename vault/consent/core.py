"""What every consent operation shares: its collaborators and its gates.

Every gate is a decision of the policy engine (``policies/consent.cedar`` and
``ops.witness-consent`` in ``policies/operations.cedar``), asked with the facts
gathered here: the subject's holding organisation and whether an active,
attested consent names the caller's organisation as a recipient. A denial
about another organisation's subject answers exactly like a missing one; a
denial within the caller's own organisation says which rule refused.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from sqlmodel import Session, col, select

from vault.audit.events import AuditSink
from vault.config import Settings
from vault.consent.forms import FormLibrary, load_forms
from vault.consent.grants import active_grants
from vault.consent.pins import PinGate
from vault.consent.ports import (
    ConsentPolicy,
    PinVerifier,
    ReceiptSigner,
    SubjectDataKeys,
    SubjectFacts,
)
from vault.consent.views import ConsentRecord
from vault.crypto.columns import ColumnSealer
from vault.db import Database
from vault.errors import ConfigurationError, Forbidden, NotFound
from vault.identity.models import Organization
from vault.subjects.models import Subject
from vault.vocabulary import (
    Action,
    ConsentGrant,
    Decision,
    DecisionContext,
    OperationFacts,
    Principal,
    Resource,
)

_T = TypeVar("_T")
FORMS_FOLDER = "consent-forms"
CONSENTS_TABLE = "consents"  # where sealed receipts live
NO_SUCH_SUBJECT = "No such subject."
NO_SUCH_CONSENT = "No such consent."
# The agency whose organisations (sentra) receive a person at handover.
RECEIVING_AGENCY = "kemensos"


@dataclass(frozen=True)
class HeldSubject:
    """What the gates need of a subject, read in one transaction (no live row escapes)."""

    id: uuid.UUID
    organization: str
    pin_hash: str | None = field(default=None, repr=False)


class ConsentCore:
    """The collaborators of the consent operations, and the gates they pass."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        clock: Callable[[], datetime],
        *,
        forms: FormLibrary | None = None,
        hasher: PinVerifier | None = None,
        signer: ReceiptSigner | None = None,
        audit: AuditSink | None = None,
        facts: SubjectFacts | None = None,
        sealer: ColumnSealer | None = None,
        policy: ConsentPolicy | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.library = forms or load_forms(settings.policies_dir / FORMS_FOLDER)
        # Collaborators from other capabilities; build_services sets them once they exist.
        self.hasher = hasher
        self.signer = signer
        self.audit = audit
        self.facts = facts
        # The signed receipt is stored sealed (it names
        # the purposes, health treatment among them); opened only when a caller may see them.
        self.sealer = sealer
        self.policy = policy
        # The subjects' data keys: a guardian's identity is sealed under the child's.
        self.keys: SubjectDataKeys | None = None
        self.pins = PinGate(settings)

    @staticmethod
    def _need(part: _T | None, name: str) -> _T:
        if part is None:
            raise ConfigurationError(f"The consent service has no {name}; refusing to proceed.")
        return part

    # -- the gates ------------------------------------------------------------------------

    @staticmethod
    def _live_subject(session: Session, subject_id: uuid.UUID) -> HeldSubject | None:
        subject = session.get(Subject, subject_id)
        if subject is None or subject.erased_at is not None:
            return None
        return HeldSubject(subject.id, subject.organization, subject.pin_hash)

    def _recipient_grants(
        self, session: Session, principal: Principal, subject: HeldSubject
    ) -> list[ConsentGrant]:
        """The subject's active, attested grants naming the principal's organisation
        (none when the principal belongs to the holding organisation itself)."""
        if principal.organization == subject.organization:
            return []
        return [
            grant
            for grant in active_grants(session, subject.id, self.clock())
            if principal.organization in grant.recipients
        ]

    def _gate(
        self,
        principal: Principal,
        action: Action,
        subject: HeldSubject,
        *,
        missing: str,
        recipient: bool = False,
    ) -> Decision:
        """Ask the engine; refuse as ``missing`` outside the caller's organisation."""
        policy = self._need(self.policy, "policy engine")
        facts = OperationFacts(target_org=subject.organization, consent_recipient=recipient)
        decision = policy.authorize(principal, action, facts, subject.id)
        return self._enforce(principal, subject, decision, missing)

    def _witness_gate(self, principal: Principal, subject: HeldSubject) -> Decision:
        """``consent.witness`` (``ops.witness-consent``): decided with the subject's facts."""
        policy = self._need(self.policy, "policy engine")
        decision = policy.decide(
            principal,
            Action.WITNESS_CONSENT,
            Resource(kind="subject", subject_id=subject.id, organization=subject.organization),
            DecisionContext(
                purpose=None, assigned=False, consents=(), break_glass=None, now=self.clock()
            ),
        )
        return self._enforce(principal, subject, decision, NO_SUCH_SUBJECT)

    @staticmethod
    def _enforce(
        principal: Principal, subject: HeldSubject, decision: Decision, missing: str
    ) -> Decision:
        if decision.allowed:
            return decision
        if principal.organization != subject.organization:
            # Another organisation's subject: exactly what a missing one answers.
            raise NotFound(missing)
        raise Forbidden(f"Not allowed: {decision.reason}.")

    def _record_gate(
        self, session: Session, principal: Principal, action: Action, record: ConsentRecord
    ) -> HeldSubject:
        """The gate of an operation on one consent, by staff of the holding organisation."""
        subject = self._live_subject(session, record.row.subject_id)
        if subject is None:
            raise NotFound(NO_SUCH_CONSENT)
        self._gate(principal, action, subject, missing=NO_SUCH_CONSENT)
        return subject

    def open_kiosk(self, witness: Principal, subject_id: uuid.UUID) -> None:
        """May ``witness`` open (or keep) a kiosk session for the subject (``kiosk.open``)?

        Raises NotFound for a missing, erased or another organisation's subject,
        Forbidden when the policies refuse within the witness's organisation.
        """
        with self.db.read_session() as session:
            subject = self._live_subject(session, subject_id)
            if subject is None:
                raise NotFound(NO_SUCH_SUBJECT)
            self._gate(witness, Action.OPEN_KIOSK, subject, missing=NO_SUCH_SUBJECT)

    def check_witness(self, witness: Principal, subject_id: uuid.UUID) -> None:
        """May ``witness`` witness the subject's signature (``consent.witness``)?

        NotFound for a missing, erased or another organisation's subject; Forbidden
        when the policies refuse within the witness's organisation.
        """
        with self.db.read_session() as session:
            subject = self._live_subject(session, subject_id)
            if subject is None:
                raise NotFound(NO_SUCH_SUBJECT)
            self._witness_gate(witness, subject)

    # -- recipients -----------------------------------------------------------------------

    def receiving_organizations(self, session: Session | None = None) -> dict[str, str]:
        """The organisations a handover may name (Kemensos sentra): code -> name."""
        if session is None:
            with self.db.read_session() as own:
                return self.receiving_organizations(own)
        rows = session.exec(
            select(Organization)
            .where(col(Organization.agency) == RECEIVING_AGENCY)
            .order_by(col(Organization.name))
        ).all()
        return {row.code: row.name for row in rows}

    # -- sealed columns -------------------------------------------------------------------

    def _open_receipt(self, record: ConsentRecord) -> str:
        sealer = self._need(self.sealer, "column sealer")
        return sealer.open(CONSENTS_TABLE, "receipt_jws", record.id, record.row.receipt_jws)
