"""The consent capability: forms, signing, withdrawal, expiry, receipts, FHIR.

Every operation takes the actor explicitly (a staff principal, or the subject
at the kiosk), so the HTTP controller and the kiosk call the same functions.
Nothing about consents is cached beyond one call: withdrawal and expiry take
effect on the very next request.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Select, bindparam, exists, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from vault.audit.attesting import CONSENT_GRANT, subject_events
from vault.audit.events import AuditEvent, AuditSink, Outcome
from vault.config import Settings
from vault.consent.attestation import (
    attested_only,
    expiry_detail,
    recipients_detail,
)
from vault.consent.forms import (
    HOLDING,
    SENTRA,
    SENTRA_CODE,
    ConsentForm,
    FormLibrary,
    FormPurpose,
    load_forms,
)
from vault.consent.pins import PinGate
from vault.consent.ports import PinVerifier, ReceiptSigner, SubjectFacts
from vault.consent.receipts import ReceiptFacts, build_receipt
from vault.consent.tables import Consent, ConsentEnding, ConsentPurpose, EndingKind, SignedBy
from vault.consent.views import (
    ConsentRecord,
    ConsentStatus,
    PurposeDecision,
    join_codes,
    load_consents,
    stored_grant,
)
from vault.crypto.columns import ColumnSealer
from vault.cursor_reads import Reads
from vault.db import Database, new_id
from vault.errors import ConfigurationError, Conflict, Forbidden, InvalidInput, NotFound
from vault.stamps import UtcDateTime
from vault.subjects.models import Subject
from vault.vocabulary import ConsentGrant, Principal, Role

_T = TypeVar("_T")
FORMS_FOLDER = "consent-forms"
ADULT_AGE = 18
STAFF_ROLES = frozenset({Role.COUNSELOR, Role.SOCIAL_WORKER, Role.HEALTH_OFFICER, Role.OFFICER})
# Who may witness a signature or record a withdrawal for the subject.
WITNESS_ROLES = frozenset({Role.OFFICER, Role.COUNSELOR})
# Withdrawal reasons are codes: free text could carry health data into the store.
WITHDRAWAL_REASONS = frozenset(
    {"subject_request", "guardian_request", "turned_18", "transfer", "other"}
)
SUBJECT_ROLE = "subject"  # actor_role of the subject acting at the kiosk
CONSENTS_TABLE = "consents"  # where sealed guardian names and receipts live


@dataclass(frozen=True)
class Actor:
    """Who performs a consent operation: a staff member, or the subject at the kiosk."""

    kind: str  # "staff" or "subject"
    id: uuid.UUID
    role: Role | None = None
    organization: str | None = None

    @classmethod
    def staff(cls, principal: Principal) -> Actor:
        return cls("staff", principal.id, principal.role, principal.organization)

    @classmethod
    def subject(cls, subject_id: uuid.UUID) -> Actor:
        return cls("subject", subject_id)

    @property
    def is_subject(self) -> bool:
        return self.kind == "subject"


@dataclass(frozen=True)
class Guardian:
    """The guardian who signs for a minor, and whether the child agrees (assent)."""

    name: str
    relation: str
    assent: bool = True


@dataclass(frozen=True)
class SignRequest:
    form_id: str
    form_version: int
    language: str
    granted_purposes: frozenset[str]
    pin: str | None = field(default=None, repr=False)
    guardian: Guardian | None = None
    # For purposes whose recipient is "{sentra}": the sentra code(s) the witness names.
    recipients: Mapping[str, Sequence[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class SignedConsent:
    id: uuid.UUID
    status: ConsentStatus
    receipt: str
    expires_at: datetime


def _active_grants_query() -> Select[uuid.UUID, datetime, str, str, str]:
    """Granted purposes of a subject's consents active at :now (built once, Core only:
    this runs on every read of a record, and the ORM would triple its cost)."""
    now = bindparam("now", type_=UtcDateTime())
    ended = exists().where(
        col(ConsentEnding.consent_id) == col(Consent.id), col(ConsentEnding.at) <= now
    )
    return (
        select(
            col(Consent.id),
            col(Consent.expires_at),
            col(ConsentPurpose.purpose),
            col(ConsentPurpose.categories),
            col(ConsentPurpose.recipients),
        )
        .join(ConsentPurpose, col(ConsentPurpose.consent_id) == col(Consent.id))
        .where(
            col(Consent.subject_id) == bindparam("subject_id"),
            col(ConsentPurpose.granted).is_(True),
            col(Consent.signed_at) <= now,
            col(Consent.expires_at) > now,
            ~ended,
        )
        .order_by(col(Consent.signed_at), col(ConsentPurpose.purpose))
    )


_ACTIVE_GRANTS = _active_grants_query()


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def adulthood(born: date) -> datetime:
    """Midnight UTC of the 18th birthday (1 March for someone born on 29 February)."""
    try:
        day = born.replace(year=born.year + ADULT_AGE)
    except ValueError:
        day = date(born.year + ADULT_AGE, 3, 1)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


class ConsentService:
    """Implements ``vault.vocabulary.ConsentProvider`` and the consent operations."""

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
        # The guardian's name and the signed receipt are stored sealed (the receipt names
        # the purposes, health treatment among them); opened only when a caller may see them.
        self.sealer = sealer
        self.pins = PinGate(settings)

    # -- the access engine's view ---------------------------------------------------------

    def active_consents(
        self, subject_id: uuid.UUID, now: datetime, session: Reads | None = None
    ) -> list[ConsentGrant]:
        """One grant per granted purpose of every consent of the subject active at ``now``.

        Refused purposes, withdrawn, superseded and expired consents never appear.
        Read from the database on every call (no cache): in ``session`` when the
        caller has one open (a record read does, so the whole read is one
        transaction on one connection), else in a read-only transaction of its own.
        """
        params = {"subject_id": subject_id, "now": now}
        if session is not None:
            grants = self._grants(session.execute(_ACTIVE_GRANTS, params).all(), subject_id)
            if grants:
                grants = attested_only(grants, subject_events(session, subject_id))
            return grants
        with self.db.read_session() as own:
            return self.active_consents(subject_id, now, own)

    @staticmethod
    def _grants(rows: Sequence[Any], subject_id: uuid.UUID) -> list[ConsentGrant]:
        return [
            stored_grant(
                row.id, subject_id, row.purpose, row.categories, row.recipients, row.expires_at
            )
            for row in rows
        ]

    # -- forms ----------------------------------------------------------------------------

    def forms(self) -> Sequence[ConsentForm]:
        return self.library.all()

    def form(self, form_id: str, version: int | None = None) -> ConsentForm:
        return self.library.get(form_id, version)

    def form_text(self, form_id: str, lang: str, version: int | None = None) -> dict[str, Any]:
        """The form as shown in ``lang``: its exact text, its hash, and its purposes."""
        form = self.library.get(form_id, version)
        form.check_language(lang)
        controller = self.settings.controller_name
        return {
            "id": form.id,
            "version": form.version,
            "language": lang,
            "current": self.library.is_latest(form),
            "title": form.section(lang, "title", controller),
            "text": form.render(lang, controller),
            "text_sha256": form.text_sha256(lang, controller),
            "duration_days": form.duration_days,
            "controller": controller,
            "purposes": [
                {
                    "code": p.code,
                    "title": p.title[lang],
                    "text": p.text[lang],
                    "categories": [c.value for c in p.categories],
                    "recipients": list(p.recipients),
                    "dpv": p.dpv,
                    "needs_sentra": p.needs_sentra,
                }
                for p in form.purposes
            ],
        }

    # -- signing ----------------------------------------------------------------------------

    def sign(
        self,
        witness: Principal,
        subject_id: uuid.UUID,
        request: SignRequest,
        *,
        pin_already_verified: bool = False,
    ) -> SignedConsent:
        """Record a consent signed by the subject (or a guardian) before ``witness``.

        ``pin_already_verified`` is for the kiosk, whose session checked the
        subject's PIN through the same gate. Refused purposes are recorded too.
        A consent on the same form that is still active is superseded.
        """
        audit, signer, facts, hasher = self._need_all()
        sealer = self._need(self.sealer, "column sealer")
        now = self.clock()
        actor = Actor.staff(witness)
        if witness.role not in WITNESS_ROLES:
            raise Forbidden("Only an officer or a counselor may witness a consent.")
        form = self._signable_form(request)
        guardian = _checked_guardian(request.guardian)
        with self.db.read_session() as session:
            subject = self._subject_for_staff(session, subject_id, actor)
            if not pin_already_verified:
                self.pins.check_open(session, subject_id, now)
            born = self._date_of_birth(facts, session, subject_id)
            due_expiry = [
                r for r in load_consents(session, subject_id=subject_id) if _expired(r, now)
            ]
            pin_hash, holding = subject.pin_hash, subject.organization
        minor = age_on(born, now.date()) < ADULT_AGE
        if minor and guardian is None:
            raise Forbidden("A person under 18 cannot sign alone: a guardian must sign too.")
        if not minor and guardian is not None:
            raise InvalidInput("An adult signs for themselves; a guardian signs only for a minor.")
        if not pin_already_verified:
            self._check_pin(hasher, audit, actor, subject_id, pin_hash, request.pin, now)
        assent = guardian.assent if guardian is not None else None
        decisions = tuple(
            self._decide_purpose(p, request, holding, assent is not False) for p in form.purposes
        )
        expires_at = now + timedelta(days=form.duration_days)
        if minor:
            # Turning 18 needs the person's own consent: a guardian's ends on that day.
            expires_at = min(expires_at, adulthood(born))
        consent_id, receipt_id = new_id(), new_id()
        text_sha256 = form.text_sha256(request.language, self.settings.controller_name)
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
                    signed_by=SignedBy.GUARDIAN if guardian else SignedBy.SUBJECT,
                    guardian_name=guardian.name if guardian else None,
                    guardian_relation=guardian.relation if guardian else None,
                    assent=assent,
                )
            )
        )
        # Audit first, then write: on SQLite the audit writer needs the write lock.
        self._audit_expiries(audit, due_expiry)
        granted = [d for d in decisions if d.granted]
        audit.append(
            self._event(
                "consent.sign",
                Outcome.ALLOW,
                actor,
                subject_id,
                target_id=consent_id,
                consent_id=consent_id,
                categories=_categories(granted),
                details={
                    "form": form.key,
                    "language": request.language,
                    "granted": len(granted),
                    "refused": len(decisions) - len(granted),
                    "signed_by": SignedBy.GUARDIAN.value if guardian else SignedBy.SUBJECT.value,
                    "assent": assent,
                    "expires_at": expiry_detail(expires_at),
                },
            )
        )
        for decision in decisions:
            if decision.granted:
                # What decisions will compare the stored grant with (consent.attestation).
                audit.append(
                    self._event(
                        CONSENT_GRANT,
                        Outcome.INFO,
                        actor,
                        subject_id,
                        target_id=consent_id,
                        consent_id=consent_id,
                        purpose=decision.code,
                        categories=_categories([decision]),
                        details={"recipients": recipients_detail(decision.recipients)},
                    )
                )
            else:
                audit.append(
                    self._event(
                        "consent.refuse",
                        Outcome.INFO,
                        actor,
                        subject_id,
                        target_id=consent_id,
                        purpose=decision.code,
                        categories=_categories([decision]),
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
            signed_by=(SignedBy.GUARDIAN if guardian else SignedBy.SUBJECT).value,
            guardian_name=(
                sealer.seal(CONSENTS_TABLE, "guardian_name", consent_id, guardian.name)
                if guardian
                else None
            ),
            guardian_relation=guardian.relation if guardian else None,
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
                self._event("consent.sign", Outcome.ERROR, actor, subject_id, target_id=consent_id)
            )
            raise Conflict("The consents of this person changed meanwhile; try again.") from None
        for old in superseded:
            audit.append(
                self._event(
                    "consent.supersede",
                    Outcome.INFO,
                    actor,
                    subject_id,
                    target_id=old,
                    consent_id=old,
                    details={"superseded_by": str(consent_id)},
                )
            )
        return SignedConsent(consent_id, ConsentStatus.ACTIVE, receipt, expires_at)

    def verify_pin(self, subject_id: uuid.UUID, pin: str) -> bool:
        """Check a subject's PIN through the rate-limited gate (for the kiosk's own login).

        Raises RateLimited when too many wrong PINs were given; a wrong PIN is counted.
        """
        audit, _signer, _facts, hasher = self._need_all()
        now = self.clock()
        with self.db.read_session() as session:
            subject = session.get(Subject, subject_id)
            if subject is None or subject.erased_at is not None:
                raise NotFound("No such subject.")
            self.pins.check_open(session, subject_id, now)
            pin_hash = subject.pin_hash
        try:
            self._check_pin(
                hasher, audit, Actor.subject(subject_id), subject_id, pin_hash, pin, now
            )
        except Forbidden:
            return False
        with self.db.session() as session:
            self.pins.clear(session, subject_id)
        return True

    # -- withdrawal and expiry ------------------------------------------------------------

    def withdraw(
        self, actor: Actor, consent_id: uuid.UUID, reason: str | None = None
    ) -> ConsentRecord:
        """End an active consent now. Effective for the very next request (nothing is cached)."""
        audit = self._need(self.audit, "audit log")
        now = self.clock()
        with self.db.read_session() as session:
            record = self._one(session, consent_id)
            if actor.is_subject:
                if actor.id != record.row.subject_id:
                    raise NotFound("No such consent.")
            else:
                if actor.role not in WITNESS_ROLES:
                    raise Forbidden("Only an officer or a counselor may record a withdrawal.")
                self._subject_for_staff(session, record.row.subject_id, actor)
        status = record.status(now)
        if status is not ConsentStatus.ACTIVE:
            raise Conflict(f"The consent is already {status.value}.")
        code = reason if reason in WITHDRAWAL_REASONS else ("other" if reason else None)
        audit.append(
            self._event(
                "consent.withdraw",
                Outcome.ALLOW,
                actor,
                record.row.subject_id,
                target_id=consent_id,
                consent_id=consent_id,
                categories=_categories([p for p in record.purposes if p.granted]),
                details={"reason": code, "by": actor.kind},
            )
        )
        ending = ConsentEnding(
            consent_id=consent_id,
            kind=EndingKind.WITHDRAWN.value,
            at=now,
            actor_id=actor.id,
            actor_kind=actor.kind,
            reason=code,
        )
        try:
            with self.db.session() as session:
                session.add(ending)
        except IntegrityError:
            raise Conflict("The consent has already ended.") from None
        return ConsentRecord(record.row, record.purposes, ending)

    def record_expiries(self, subject_id: uuid.UUID) -> int:
        """Write the ending (and audit event) of every consent of the subject past its expiry.

        Expiry already counts at decision time without this; it only makes the
        history and the audit log say so. Returns how many were recorded.
        """
        audit = self._need(self.audit, "audit log")
        now = self.clock()
        with self.db.read_session() as session:
            due = [r for r in load_consents(session, subject_id=subject_id) if _expired(r, now)]
        if not due:
            return 0
        self._audit_expiries(audit, due)
        try:
            with self.db.session() as session:
                self._record_expiries(session, due)
        except IntegrityError:
            return 0  # recorded meanwhile by another request
        return len(due)

    # -- reading ----------------------------------------------------------------------------

    def list_for_subject(self, actor: Actor, subject_id: uuid.UUID) -> list[ConsentRecord]:
        """Every consent of the subject, newest first, active and past."""
        self.record_expiries(subject_id)
        with self.db.read_session() as session:
            records = load_consents(session, subject_id=subject_id)
            self._authorize_view(session, actor, subject_id, records)
        return records

    def get(self, actor: Actor, consent_id: uuid.UUID) -> ConsentRecord:
        with self.db.read_session() as session:
            record = self._one(session, consent_id)
            self._authorize_view(session, actor, record.row.subject_id, [record])
        return record

    def receipt(self, actor: Actor, consent_id: uuid.UUID) -> str:
        """The signed receipt (compact JWS) of the consent; the fetch is audited."""
        audit = self._need(self.audit, "audit log")
        record = self.get(actor, consent_id)
        audit.append(
            self._event(
                "consent.receipt",
                Outcome.INFO,
                actor,
                record.row.subject_id,
                target_id=consent_id,
                consent_id=consent_id,
            )
        )
        return self._open_receipt(record)

    def _open_receipt(self, record: ConsentRecord) -> str:
        sealer = self._need(self.sealer, "column sealer")
        return sealer.open(CONSENTS_TABLE, "receipt_jws", record.id, record.row.receipt_jws)

    def _guardian_name(self, record: ConsentRecord) -> str | None:
        if record.row.guardian_name is None:
            return None
        sealer = self._need(self.sealer, "column sealer")
        return sealer.open(CONSENTS_TABLE, "guardian_name", record.id, record.row.guardian_name)

    def fhir(self, actor: Actor, consent_id: uuid.UUID) -> dict[str, Any]:
        """The consent as an HL7 FHIR R5 Consent resource (validated)."""
        from vault.consent.fhir import consent_resource

        if actor.is_subject:
            raise Forbidden("The FHIR export is for staff.")
        record = self.get(actor, consent_id)
        form = self.library.get(record.row.form_id, record.row.form_version)
        return consent_resource(
            record,
            form,
            self.settings.controller_name,
            self.clock(),
            guardian_name=self._guardian_name(record),
        )

    def active_for_display(self, subject_id: uuid.UUID, lang: str) -> list[dict[str, Any]]:
        """The subject's active consents with purpose titles in ``lang`` (for the kiosk)."""
        now = self.clock()
        with self.db.read_session() as session:
            records = load_consents(session, subject_id=subject_id)
        shown = []
        for record in records:
            if record.status(now) is not ConsentStatus.ACTIVE:
                continue
            form = self.library.get(record.row.form_id, record.row.form_version)
            shown_lang = lang if lang in form.languages else record.row.language
            shown.append(
                {
                    "id": str(record.id),
                    "form_id": form.id,
                    "form_version": form.version,
                    "title": form.section(shown_lang, "title", self.settings.controller_name),
                    "signed_at": record.row.signed_at,
                    "expires_at": record.row.expires_at,
                    "purposes": [
                        {
                            "code": p.code,
                            "title": form.purpose(p.code).title[shown_lang],
                            "granted": p.granted,
                        }
                        for p in record.purposes
                    ],
                }
            )
        return shown

    # -- helpers ----------------------------------------------------------------------------

    def _need_all(self) -> tuple[AuditSink, ReceiptSigner, SubjectFacts, PinVerifier]:
        return (
            self._need(self.audit, "audit log"),
            self._need(self.signer, "signing key"),
            self._need(self.facts, "subject records (date of birth)"),
            self._need(self.hasher, "PIN hasher"),
        )

    @staticmethod
    def _need(part: _T | None, name: str) -> _T:
        if part is None:
            raise ConfigurationError(f"The consent service has no {name}; refusing to proceed.")
        return part

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

    def _decide_purpose(
        self, purpose: FormPurpose, request: SignRequest, holding: str, may_grant: bool
    ) -> PurposeDecision:
        granted = may_grant and purpose.code in request.granted_purposes
        named = [str(org) for org in request.recipients.get(purpose.code, ())]
        if named and not purpose.needs_sentra:
            raise InvalidInput(f"The purpose {purpose.code} does not take named recipients.")
        for org in named:
            if not SENTRA_CODE.match(org):
                raise InvalidInput(f"{org!r} is not a sentra code (sentra-...).")
        if purpose.needs_sentra and granted and not named:
            raise InvalidInput(f"The purpose {purpose.code} needs the receiving sentra named.")
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
            raise Conflict("This person has no PIN yet; an officer must set one first.")
        if not pin:
            raise InvalidInput("The person's PIN is required.")
        if hasher.verify(pin_hash, pin):
            return
        audit.append(self._event("consent.pin_failed", Outcome.DENY, actor, subject_id))
        with self.db.session() as session:
            self.pins.record_failure(session, subject_id, now)
        raise Forbidden("The PIN is wrong.")

    @staticmethod
    def _date_of_birth(facts: SubjectFacts, session: Session, subject_id: uuid.UUID) -> date:
        try:
            return facts.date_of_birth(session, subject_id)
        except NotFound:
            raise Conflict(
                "This person's date of birth is not recorded, so it is unknown whether a "
                "guardian must sign."
            ) from None

    @staticmethod
    def _subject_for_staff(session: Session, subject_id: uuid.UUID, actor: Actor) -> Subject:
        subject = session.get(Subject, subject_id)
        # Another organisation's subject is "not found": staff may not learn it exists.
        if (
            subject is None
            or subject.erased_at is not None
            or subject.organization != actor.organization
        ):
            raise NotFound("No such subject.")
        return subject

    @staticmethod
    def _one(session: Session, consent_id: uuid.UUID) -> ConsentRecord:
        found = load_consents(session, consent_id=consent_id)
        if not found:
            raise NotFound("No such consent.")
        return found[0]

    def _authorize_view(
        self,
        session: Session,
        actor: Actor,
        subject_id: uuid.UUID,
        records: Iterable[ConsentRecord],
    ) -> None:
        if actor.is_subject:
            if actor.id != subject_id:
                raise NotFound("No such consent.")
            return
        if actor.role not in STAFF_ROLES:
            raise Forbidden("Consents are shown to staff and to the person only.")
        subject = session.get(Subject, subject_id)
        if subject is None:
            raise NotFound("No such subject.")
        if subject.organization == actor.organization:
            return
        # A recipient organisation (a sentra after handover) sees the consents naming it.
        now = self.clock()
        if any(
            actor.organization in r.organizations()
            for r in records
            if r.status(now) is ConsentStatus.ACTIVE
        ):
            return
        raise NotFound("No such subject.")

    def _supersede(
        self,
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

    def _audit_expiries(self, audit: AuditSink, due: Sequence[ConsentRecord]) -> None:
        for record in due:
            audit.append(
                AuditEvent(
                    action="consent.expire",
                    outcome=Outcome.INFO,
                    subject_id=record.row.subject_id,
                    target_id=record.id,
                    consent_id=record.id,
                    details={"expired_at": record.row.expires_at.isoformat()},
                )
            )

    @staticmethod
    def _record_expiries(session: Session, due: Sequence[ConsentRecord]) -> None:
        for record in due:
            session.add(
                ConsentEnding(
                    consent_id=record.id,
                    kind=EndingKind.EXPIRED.value,
                    at=record.row.expires_at,
                    actor_kind="system",
                )
            )

    @staticmethod
    def _event(
        action: str,
        outcome: Outcome,
        actor: Actor,
        subject_id: uuid.UUID,
        *,
        target_id: uuid.UUID | None = None,
        consent_id: uuid.UUID | None = None,
        purpose: str | None = None,
        categories: tuple[str, ...] = (),
        details: Mapping[str, str | int | bool | None] | None = None,
    ) -> AuditEvent:
        return AuditEvent(
            action=action,
            outcome=outcome,
            actor_id=actor.id,
            actor_role=actor.role.value if actor.role else SUBJECT_ROLE,
            actor_org=actor.organization,
            subject_id=subject_id,
            target_id=target_id,
            consent_id=consent_id,
            purpose=purpose,
            categories=categories,
            details=dict(details or {}),
        )


def _expired(record: ConsentRecord, now: datetime) -> bool:
    """Past its expiry with no ending recorded yet."""
    return record.ending is None and record.row.expires_at <= now


def _categories(decisions: Iterable[PurposeDecision]) -> tuple[str, ...]:
    return tuple(sorted({c.value for d in decisions for c in d.categories}))


def _checked_guardian(guardian: Guardian | None) -> Guardian | None:
    if guardian is None:
        return None
    name, relation = guardian.name.strip(), guardian.relation.strip()
    if not 1 <= len(name) <= 200 or not 1 <= len(relation) <= 64:
        raise InvalidInput("A guardian needs a name (up to 200) and a relation (up to 64).")
    return Guardian(name, relation, guardian.assent)
