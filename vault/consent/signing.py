"""Signing a consent: the subject's PIN (rate limited), then the rules on minors (the
guardian's own PIN, ``vault.consent.guardians``), the receipt.

The staff member who witnesses must be let by the policies (``consent.witness``,
``ops.witness-consent``) for the subject's organisation. Refused purposes are
recorded too; a consent on the same form that is still active is superseded.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from vault.audit.events import AuditSink, Outcome
from vault.consent.attestation import expiry_detail, recipients_detail
from vault.consent.core import CONSENTS_TABLE, NO_SUCH_SUBJECT
from vault.consent.forms import HOLDING, SENTRA, ConsentForm, FormPurpose
from vault.consent.guardians import GuardianNeeded, Guardians
from vault.consent.lifecycle import ConsentLifecycle
from vault.consent.model import (
    Actor,
    SignedConsent,
    SignRequest,
    adulthood,
    categories_of,
    expired,
)
from vault.consent.pin_reports import PinBlocked, pin_blocked
from vault.consent.ports import PinVerifier
from vault.consent.receipts import ReceiptFacts, build_receipt
from vault.consent.tables import Consent, ConsentEnding, ConsentPurpose, EndingKind, SignedBy
from vault.consent.views import ConsentStatus, PurposeDecision, join_codes, load_consents
from vault.db import new_id
from vault.errors import Conflict, Forbidden, InvalidInput, NotFound
from vault.subjects.models import Subject
from vault.vocabulary import EventAction, Principal


class ConsentSigning(ConsentLifecycle, Guardians):
    """Signing, and the subject's PIN check it shares with the kiosk."""

    def sign(
        self,
        witness: Principal,
        subject_id: uuid.UUID,
        request: SignRequest,
    ) -> SignedConsent:
        """Record a consent signed by the subject (and for a minor their guardian) before
        ``witness``; the subject's PIN is checked here, every time."""
        audit = self._need(self.audit, "audit log")
        signer = self._need(self.signer, "signing key")
        hasher = self._need(self.hasher, "PIN hasher")
        sealer = self._need(self.sealer, "column sealer")
        now = self.clock()
        actor = Actor.staff(witness)
        with self.db.read_session() as session:
            subject = self._live_subject(session, subject_id)
            if subject is None:
                raise NotFound(NO_SUCH_SUBJECT)
            self._witness_gate(witness, subject)
        form = self._signable_form(request)
        pin_hash, holding = subject.pin_hash, subject.organization
        # The subject's PIN first: nothing about the person (their age) is read before it.
        self._check_pin(hasher, audit, actor, subject_id, pin_hash, request.pin, now)
        minor, born = self.is_minor(witness, subject_id)
        guardian = request.guardian
        if not minor and guardian is not None:
            raise InvalidInput("An adult signs for themselves; a guardian signs only for a minor.")
        enrolled = None
        if minor:
            if guardian is None:
                raise GuardianNeeded(enrolled=self.enrolled_guardian(subject_id) is not None)
            # The guardian's own credential (rate limited like the subject's PIN).
            enrolled = self.check_guardian_pin(witness, subject_id, guardian.pin, now)
        with self.db.read_session() as session:
            due_expiry = [
                r for r in load_consents(session, subject_id=subject_id) if expired(r, now)
            ]
            receiving = self.receiving_organizations(session)
        assent = guardian.assent if guardian is not None else None
        decisions = tuple(
            self._decide_purpose(p, request, holding, receiving, assent is not False)
            for p in form.purposes
        )
        expires_at = now + timedelta(days=form.duration_days)
        if minor:
            # Turning 18 needs the person's own consent: a guardian's ends on that day.
            expires_at = min(expires_at, adulthood(born))
        consent_id, receipt_id = new_id(), new_id()
        text_sha256 = form.text_sha256(request.language, self.settings.controller_name)
        signed_by = SignedBy.GUARDIAN if guardian else SignedBy.SUBJECT
        receipt = signer.sign_jws(
            build_receipt(
                ReceiptFacts(
                    receipt_id=receipt_id,
                    consent_id=consent_id,
                    subject_id=subject_id,
                    controller=self.settings.controller_name,
                    form=form,
                    language=request.language,
                    text_sha256=text_sha256,
                    purposes=decisions,
                    holding_org=holding,
                    signed_at=now,
                    expires_at=expires_at,
                    witness_id=witness.id,
                    witness_org=witness.organization,
                    method="pin",
                    signed_by=signed_by,
                    guardian_id=enrolled.id if enrolled else None,
                    guardian_checked_by=enrolled.checked_by if enrolled else None,
                    assent=assent,
                )
            )
        )
        # Audit first, then write: on SQLite the audit writer needs the write lock.
        self._audit_expiries(audit, due_expiry)
        granted = [d for d in decisions if d.granted]
        audit.append(
            actor.event(
                EventAction.CONSENT_SIGN,
                Outcome.ALLOW,
                subject_id=subject_id,
                target_id=consent_id,
                consent_id=consent_id,
                categories=categories_of(granted),
                details={
                    "form": form.key,
                    "language": request.language,
                    "granted": len(granted),
                    "refused": len(decisions) - len(granted),
                    "signed_by": signed_by.value,
                    "assent": assent,
                    "expires_at": expiry_detail(expires_at),
                },
            )
        )
        for decision in decisions:
            # Granted purposes: what decisions compare the stored grant with (attestation).
            audit.append(
                actor.event(
                    EventAction.CONSENT_GRANT if decision.granted else EventAction.CONSENT_REFUSE,
                    Outcome.INFO,
                    subject_id=subject_id,
                    target_id=consent_id,
                    consent_id=consent_id if decision.granted else None,
                    purpose=decision.code,
                    categories=categories_of([decision]),
                    details=(
                        {"recipients": recipients_detail(decision.recipients)}
                        if decision.granted
                        else {}
                    ),
                )
            )
        row = Consent(
            id=consent_id,
            subject_id=subject_id,
            form_id=form.id,
            form_version=form.version,
            language=request.language,
            text_sha256=text_sha256,
            signed_at=now,
            expires_at=expires_at,
            witness_id=witness.id,
            witness_org=witness.organization,
            method="pin",
            signed_by=signed_by.value,
            guardian_id=enrolled.id if enrolled else None,
            assent=assent,
            receipt_id=receipt_id,
            receipt_jws=sealer.seal(CONSENTS_TABLE, "receipt_jws", consent_id, receipt),
        )
        try:
            with self.db.session() as session:
                self._record_expiries(session, due_expiry)
                superseded = self._supersede(session, subject_id, form.id, consent_id, now)
                session.add(row)
                session.flush()
                for position, decision in enumerate(decisions):
                    session.add(
                        ConsentPurpose(
                            consent_id=consent_id,
                            subject_id=subject_id,
                            purpose=decision.code,
                            position=position,
                            granted=decision.granted,
                            categories=join_codes([c.value for c in decision.categories]),
                            recipients=join_codes(list(decision.recipients)),
                        )
                    )
                self.pins.clear(session, subject_id)
        except IntegrityError:
            audit.append(
                actor.event(
                    EventAction.CONSENT_SIGN,
                    Outcome.ERROR,
                    subject_id=subject_id,
                    target_id=consent_id,
                )
            )
            raise Conflict("The consents of this person changed meanwhile; try again.") from None
        for old in superseded:
            audit.append(
                actor.event(
                    EventAction.CONSENT_SUPERSEDE,
                    Outcome.INFO,
                    subject_id=subject_id,
                    target_id=old,
                    consent_id=old,
                    details={"superseded_by": str(consent_id)},
                )
            )
        return SignedConsent(consent_id, ConsentStatus.ACTIVE, receipt, expires_at)

    def verify_pin(self, subject_id: uuid.UUID, pin: str, witness: Principal | None = None) -> bool:
        """Check a subject's PIN through the rate-limited gate (for the kiosk).

        ``witness`` is the staff member who opened the kiosk session: a wrong PIN
        is audited under their name. Raises RateLimited when too many wrong PINs
        were given, PinBlocked when the subject disowned the PIN; a wrong PIN is
        counted.
        """
        audit = self._need(self.audit, "audit log")
        hasher = self._need(self.hasher, "PIN hasher")
        now = self.clock()
        with self.db.read_session() as session:
            subject = self._live_subject(session, subject_id)
            if subject is None:
                raise NotFound(NO_SUCH_SUBJECT)
            pin_hash = subject.pin_hash
        actor = Actor.subject(subject_id, witness)
        try:
            self._check_pin(hasher, audit, actor, subject_id, pin_hash, pin, now)
        except PinBlocked:
            raise  # not a wrong PIN: the kiosk says the PIN is blocked
        except Forbidden:
            return False
        return True

    # -- helpers ----------------------------------------------------------------------------

    def _signable_form(self, request: SignRequest) -> ConsentForm:
        form = self.library.get(request.form_id, request.form_version)
        if not self.library.is_latest(form):
            latest = self.library.latest(form.id).version
            raise Conflict(f"Form {form.key} has been replaced by version {latest}; show that one.")
        if request.language not in form.languages:
            raise InvalidInput(f"The form {form.key} has no '{request.language}' text.")
        codes = {p.code for p in form.purposes}
        unknown = sorted(request.granted_purposes - codes)
        if unknown:
            raise InvalidInput(f"The form {form.key} has no purpose {', '.join(unknown)}.")
        unknown = sorted(set(request.recipients) - codes)
        if unknown:
            raise InvalidInput(f"Recipients given for unknown purpose {', '.join(unknown)}.")
        return form

    @staticmethod
    def _decide_purpose(
        purpose: FormPurpose,
        request: SignRequest,
        holding: str,
        receiving: Mapping[str, str],
        may_grant: bool,
    ) -> PurposeDecision:
        granted = may_grant and purpose.code in request.granted_purposes
        named = list(dict.fromkeys(str(org) for org in request.recipients.get(purpose.code, ())))
        if named and not purpose.needs_sentra:
            raise InvalidInput(f"The purpose {purpose.code} does not take named recipients.")
        for org in named:
            if org not in receiving:
                raise InvalidInput("A named recipient must be an existing Kemensos organisation.")
        # Exactly as many as the form promises (one per "{sentra}" it names).
        promised = purpose.recipients.count(SENTRA)
        if purpose.needs_sentra and granted and len(named) != promised:
            raise InvalidInput(
                f"The purpose {purpose.code} needs exactly {promised} receiving sentra named."
            )
        recipients: list[str] = []
        for recipient in purpose.recipients:
            if recipient == HOLDING:
                recipients.append(holding)
            elif recipient == SENTRA:
                recipients.extend(named)
            else:
                recipients.append(recipient)
        return PurposeDecision(
            code=purpose.code,
            granted=granted,
            categories=purpose.categories,
            recipients=tuple(dict.fromkeys(recipients)),
        )

    def _check_pin(
        self,
        hasher: PinVerifier,
        audit: AuditSink,
        actor: Actor,
        subject_id: uuid.UUID,
        pin_hash: str | None,
        pin: str | None,
        now: datetime,
    ) -> None:
        if pin_hash is None:
            raise Conflict("This person has not chosen a PIN yet; they choose it at the kiosk.")
        if not pin:
            raise InvalidInput("The person's PIN is required.")
        with self.db.read_session() as session:
            if pin_blocked(session, subject_id):
                raise PinBlocked()
        # The attempt is counted (as a failure) before the PIN is evaluated: racing
        # requests cannot get more than the limit evaluated (vault.consent.pins).
        with self.db.session() as session:
            self.pins.reserve(session, subject_id, now)
        if hasher.verify(pin_hash, pin):
            rehashed = hasher.hash(pin) if hasher.needs_rehash(pin_hash) else None
            with self.db.session() as session:
                self.pins.clear(session, subject_id)
                if rehashed is not None:
                    # A hash from before the pepper is replaced on its first right use.
                    subject = session.get(Subject, subject_id)
                    if subject is not None and subject.pin_hash == pin_hash:
                        subject.pin_hash = rehashed
                        session.add(subject)
            return
        audit.append(
            actor.event(EventAction.CONSENT_PIN_FAILED, Outcome.DENY, subject_id=subject_id)
        )
        raise Forbidden("The PIN is wrong.")

    @staticmethod
    def _supersede(
        session: Session,
        subject_id: uuid.UUID,
        form_id: str,
        new_id_: uuid.UUID,
        now: datetime,
    ) -> list[uuid.UUID]:
        old = [
            r.id
            for r in load_consents(session, subject_id=subject_id)
            if r.row.form_id == form_id and r.status(now) is ConsentStatus.ACTIVE
        ]
        for consent_id in old:
            session.add(
                ConsentEnding(
                    consent_id=consent_id,
                    kind=EndingKind.SUPERSEDED.value,
                    at=now,
                    actor_kind="system",
                    superseded_by=new_id_,
                )
            )
        return old
