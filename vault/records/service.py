"""Subjects and records: register, write, list, read under a decision, correct, export, erase.

The order of a read is the vault's central promise: decide, record the audit
event durably, and only then unwrap the subject's key and decrypt the fields
the decision allows. If the audit event cannot be written, nothing is decrypted.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Row, bindparam, delete
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from vault.audit.events import AuditEvent, AuditSink, Outcome
from vault.crypto.keys import DataKey, WrappedKey
from vault.cursor_reads import Reads
from vault.db import Database
from vault.errors import (
    Conflict,
    DecryptionFailed,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    VaultError,
)
from vault.keys.service import purge_freed_pages
from vault.records.catalog import Catalog
from vault.records.fieldcrypt import open_fields, seal_fields
from vault.records.models import Record, RecordField
from vault.records.ratelimit import ReadLimiter
from vault.subjects.models import ErasureApproval, Subject, SubjectStatus
from vault.vocabulary import (
    EMERGENCY_PURPOSE,
    Action,
    BreakGlassGrant,
    Category,
    ConsentGrant,
    Decision,
    DecisionContext,
    Principal,
    Resource,
    Role,
)

IDENTITY_RECORD_TYPE = "identity"

# The statements of a record read, built once with bind parameters and run as Core:
# through the ORM (Session.get, select(Model)) each cost ~4x as much as the query.
_SUBJECT = core_select(
    col(Subject.id),
    col(Subject.organization),
    col(Subject.status),
    col(Subject.legal_hold),
    col(Subject.erased_at),
).where(col(Subject.id) == bindparam("subject_id"))
_RECORD = core_select(
    col(Record.id),
    col(Record.subject_id),
    col(Record.record_type),
    col(Record.version),
    col(Record.lineage_id),
    col(Record.supersedes_id),
    col(Record.superseded_at),
    col(Record.created_at),
).where(col(Record.id) == bindparam("record_id"))
_FIELDS = core_select(
    col(RecordField.name), col(RecordField.category), col(RecordField.ciphertext)
).where(col(RecordField.record_id) == bindparam("record_id"))


class AccessFacts(Protocol):
    """What the identity capability knows about a principal and a subject."""

    def is_assigned(self, session: Reads, user_id: uuid.UUID, subject_id: uuid.UUID) -> bool: ...

    def break_glass(
        self, session: Reads, user_id: uuid.UUID, subject_id: uuid.UUID, now: datetime
    ) -> BreakGlassGrant | None: ...


class ConsentReader(Protocol):
    """The consent capability's view for decisions (``ConsentService.active_consents``)."""

    def active_consents(
        self, subject_id: uuid.UUID, now: datetime, session: Reads | None = None
    ) -> Sequence[ConsentGrant]: ...


class PinHasher(Protocol):
    def hash(self, secret: str) -> str: ...


class PolicyDecider(Protocol):
    def decide(
        self, principal: Principal, action: Action, resource: Resource, context: DecisionContext
    ) -> Decision: ...


class BlindIndexer(Protocol):
    def digest(self, field_name: str, value: str) -> str: ...


class SubjectKeyStore(Protocol):
    """The keys capability: one wrapped data key per subject."""

    def create(self, session: Session, subject_id: uuid.UUID) -> DataKey: ...

    def data_key(self, session: Session, subject_id: uuid.UUID) -> DataKey: ...

    def wrapped_key(self, session: Reads, subject_id: uuid.UUID) -> WrappedKey | None: ...

    def unwrap(self, subject_id: uuid.UUID, wrapped: WrappedKey) -> DataKey: ...

    def shred(self, session: Session, subject_id: uuid.UUID) -> None: ...

    def rotate_subject(
        self,
        session: Session,
        subject_id: uuid.UUID,
        reencrypt: Callable[[DataKey, DataKey], None],
    ) -> None: ...


@dataclass(frozen=True)
class NewSubject:
    full_name: str
    nik: str
    register_number: str
    date_of_birth: date
    organization: str
    pin: str


@dataclass(frozen=True)
class SubjectRef:
    """What a request needs to know of a subject it may see."""

    id: uuid.UUID
    organization: str
    status: str
    legal_hold: bool


@dataclass(frozen=True)
class RecordMeta:
    id: uuid.UUID
    type: str
    version: int
    lineage_id: uuid.UUID
    supersedes_id: uuid.UUID | None
    current: bool
    created_at: datetime


@dataclass(frozen=True)
class RecordView:
    meta: RecordMeta
    fields: dict[str, str]
    withheld: dict[str, str]
    consent_id: uuid.UUID | None = None
    break_glass_id: uuid.UUID | None = None


@dataclass(frozen=True)
class _Opening:
    """What an allowed read decrypts once its audit event is durable."""

    subject_id: uuid.UUID
    record: Row[Any]
    stored: dict[str, tuple[str, bytes]]  # field name -> (catalog category, ciphertext)
    readable: list[str]
    wrapped: WrappedKey | None
    decision: Decision


@dataclass(frozen=True)
class ReadPlan:
    """A decided record read: ``event`` to make durable, then a refusal or an opening."""

    event: AuditEvent
    refusal: VaultError | None = None
    opening: _Opening | None = None


@dataclass
class RecordsService:
    db: Database
    catalog: Catalog
    policy: PolicyDecider
    subject_keys: SubjectKeyStore
    blind_index: BlindIndexer
    audit: AuditSink
    consents: ConsentReader
    facts: AccessFacts
    pins: PinHasher
    clock: Callable[[], datetime]
    read_limiter: ReadLimiter | None = None

    # ----------------------------------------------------------------- subjects

    def register_subject(self, principal: Principal, new: NewSubject) -> uuid.UUID:
        """An officer registers a subject of their own organisation."""
        self._require(principal, Action.REGISTER_SUBJECT, Resource(kind="subject"))
        if new.organization != principal.organization:
            self._deny(
                principal,
                "subject.register",
                None,
                "officers register subjects of their own organisation",
            )
            raise Forbidden("Officers register subjects into their own organisation only.")
        if len(new.pin) < 6 or not new.pin.isdigit():
            raise InvalidInput("pin: must be at least 6 digits")
        identity = self.catalog.validate_fields(
            IDENTITY_RECORD_TYPE,
            {
                "full_name": new.full_name,
                "nik": new.nik,
                "register_number": new.register_number,
                "date_of_birth": new.date_of_birth.isoformat(),
            },
        )
        nik_index = self.blind_index.digest("nik", new.nik)
        register_index = self.blind_index.digest("register_number", new.register_number)
        subject_id = uuid.uuid4()
        pin_hash = self.pins.hash(new.pin)
        record_id = uuid.uuid4()
        with self.db.read_session() as session:
            self._refuse_duplicate(session, nik_index, register_index)
        # Audit before the write: on SQLite the write session holds the only write lock.
        self.audit.append(
            self._event(
                principal,
                "subject.register",
                Outcome.ALLOW,
                subject_id,
                target_id=record_id,
                categories=(Category.IDENTITY.value,),
            )
        )
        with self.db.session() as session:
            self._refuse_duplicate(session, nik_index, register_index)
            subject = Subject(
                id=subject_id,
                organization=new.organization,
                nik_index=nik_index,
                register_index=register_index,
                pin_hash=pin_hash,
                identity_record_id=record_id,
            )
            session.add(subject)
            session.flush()
            dek = self.subject_keys.create(session, subject_id)
            self._write_record(
                session,
                dek,
                subject_id,
                principal,
                IDENTITY_RECORD_TYPE,
                identity,
                previous=None,
                record_id=record_id,
            )
        return subject_id

    @staticmethod
    def _refuse_duplicate(session: Session, nik_index: str, register_index: str) -> None:
        clash = session.execute(
            select(col(Subject.id)).where(
                (Subject.nik_index == nik_index) | (Subject.register_index == register_index),
                col(Subject.erased_at).is_(None),
            )
        ).first()
        if clash is not None:
            raise Conflict("A subject with this NIK or register number is already registered.")

    def find_subjects(
        self, principal: Principal, *, nik: str | None, register_number: str | None
    ) -> list[uuid.UUID]:
        """Equality search through the blind index, within the caller's organisation."""
        self._require(principal, Action.SEARCH_SUBJECT, Resource(kind="subject"))
        if (nik is None) == (register_number is None):
            raise InvalidInput("give exactly one of nik or register_number")
        if nik is not None:
            condition = Subject.nik_index == self.blind_index.digest("nik", nik)
            by = "nik"
        else:
            assert register_number is not None
            condition = Subject.register_index == self.blind_index.digest(
                "register_number", register_number
            )
            by = "register_number"
        with self.db.read_session() as session:
            ids = list(
                session.execute(
                    select(col(Subject.id)).where(
                        condition,
                        Subject.organization == principal.organization,
                        col(Subject.erased_at).is_(None),
                    )
                ).scalars()
            )
        self.audit.append(
            self._event(
                principal,
                "subject.search",
                Outcome.ALLOW,
                None,
                details={"by": by, "found": len(ids)},
            )
        )
        return ids

    def subject_status(self, principal: Principal, subject_id: uuid.UUID) -> dict[str, object]:
        with self.db.read_session() as session:
            subject = self._visible_subject(session, principal, subject_id, purpose=None)
            return {
                "id": subject.id,
                "organization": subject.organization,
                "status": subject.status,
                "legal_hold": subject.legal_hold,
            }

    def set_status(self, principal: Principal, subject_id: uuid.UUID, status: str) -> None:
        if principal.role is not Role.OFFICER:
            raise Forbidden("Only officers change a subject's custody status.")
        try:
            new_status = SubjectStatus(status)
        except ValueError:
            raise InvalidInput(
                "status: must be one of in_custody, conditional_release, released, transferred"
            ) from None
        if new_status is SubjectStatus.ERASED:
            raise InvalidInput("status: erasure goes through DELETE /v1/subjects/{id}")
        with self.db.read_session() as session:
            self._own_subject(session, principal, subject_id)
        self.audit.append(
            self._event(
                principal,
                "subject.status",
                Outcome.ALLOW,
                subject_id,
                details={"status": new_status.value},
            )
        )
        with self.db.session() as session:
            subject = self._own_subject(session, principal, subject_id)
            subject.status = new_status.value

    # ------------------------------------------------------------------ records

    def create_record(
        self,
        principal: Principal,
        subject_id: uuid.UUID,
        record_type: str,
        fields: Mapping[str, object],
        *,
        corrects: uuid.UUID | None = None,
    ) -> RecordMeta:
        """Write a new record (or a corrected version of one) for an assigned subject."""
        if record_type == IDENTITY_RECORD_TYPE:
            raise InvalidInput("identity records are written by subject registration")
        values = self.catalog.validate_fields(record_type, fields)
        categories = frozenset(Category(self.catalog.category_of(record_type, n)) for n in values)
        action = "record.correct" if corrects else "record.create"
        with self.db.read_session() as session:
            subject = self._visible_subject(session, principal, subject_id, purpose=None)
            decision = self.policy.decide(
                principal,
                Action.CREATE_RECORD,
                Resource(
                    kind="record",
                    subject_id=subject_id,
                    organization=subject.organization,
                    record_type=record_type,
                    categories=categories,
                ),
                self._context(session, principal, subject_id, purpose=None),
            )
        if not decision.allowed:
            self.audit.append(
                self._decision_event(principal, action, subject_id, None, decision, None)
            )
            raise Forbidden(f"Not allowed to write {record_type} records: {decision.reason}")
        record_id = uuid.uuid4()
        # Audit before the write: on SQLite the write session holds the only write lock.
        self.audit.append(
            self._decision_event(
                principal,
                action,
                subject_id,
                record_id,
                decision,
                None,
                categories=tuple(sorted(c.value for c in categories)),
            )
        )
        with self.db.session() as session:
            previous = None
            if corrects is not None:
                previous = session.get(Record, corrects)
                if (
                    previous is None
                    or previous.subject_id != subject_id
                    or previous.superseded_at is not None
                ):
                    raise NotFound("No current record with that id for this subject.")
                if previous.record_type != record_type:
                    raise InvalidInput("type: a correction keeps the record's type")
            dek = self._data_key(session, subject_id)
            record = self._write_record(
                session,
                dek,
                subject_id,
                principal,
                record_type,
                values,
                previous,
                record_id=record_id,
            )
            return _meta(record)

    def list_records(
        self, principal: Principal, subject_id: uuid.UUID, purpose: str
    ) -> list[RecordMeta]:
        """Metadata of a subject's records; no field is decrypted."""
        with self.db.read_session() as session:
            subject = self._visible_subject(session, principal, subject_id, purpose=purpose)
            decision = self.policy.decide(
                principal,
                Action.LIST_RECORDS,
                Resource(kind="record", subject_id=subject_id, organization=subject.organization),
                self._context(session, principal, subject_id, purpose=purpose),
            )
            self.audit.append(
                self._decision_event(principal, "record.list", subject_id, None, decision, purpose)
            )
            if not decision.allowed:
                raise NotFound("No such subject.")
            rows = session.execute(
                select(Record)
                .where(col(Record.subject_id) == subject_id)
                .order_by(col(Record.created_at), col(Record.version))
            ).scalars()
            return [_meta(r) for r in rows]

    def read_record(
        self, principal: Principal, subject_id: uuid.UUID, record_id: uuid.UUID, purpose: str
    ) -> RecordView:
        """Decide, audit durably, then decrypt only the permitted categories."""
        plan = self.plan_read(principal, subject_id, record_id, purpose)
        # Durable first: if this raises AuditUnavailable nothing is decrypted.
        self.audit.append(plan.event)
        return self.disclose(plan)

    def plan_read(
        self, principal: Principal, subject_id: uuid.UUID, record_id: uuid.UUID, purpose: str
    ) -> ReadPlan:
        """Everything of a read that comes before its audit event.

        Checks, the decision and the event to record; it only reads the store and
        neither appends nor decrypts. The caller makes ``plan.event`` durable, then
        calls ``disclose(plan)`` (``read_record`` does both; the HTTP handler awaits
        the event on the event loop instead of holding a thread).
        """
        if not purpose:
            raise InvalidInput("purpose: a declared purpose is required")
        limit = self.read_limiter
        if limit is not None:
            try:
                limit.check(principal.id)
            except RateLimited as limited:
                return ReadPlan(self._rate_limited_event(principal, subject_id), refusal=limited)
        with self.db.read_cursor() as session:
            if limit is not None:
                try:
                    limit.check_logged(session, principal.id, self.clock())
                except RateLimited as limited:
                    return ReadPlan(self._rate_limited_event(principal, subject_id), limited)
            subject = self._find_visible_subject(session, principal, subject_id, purpose)
            if subject is None:
                return ReadPlan(
                    self._hidden_subject_event(principal, subject_id, purpose),
                    refusal=NotFound("No such subject."),
                )
            record = session.execute(_RECORD, {"record_id": record_id}).first()
            if record is None or record.subject_id != subject_id:
                event = self._event(
                    principal,
                    "record.read",
                    Outcome.DENY,
                    subject_id,
                    target_id=record_id,
                    purpose=purpose,
                    reason="no such record",
                )
                return ReadPlan(event, refusal=NotFound("No such record."))
            stored: dict[str, tuple[str, bytes]] = {
                name: (category, bytes(ciphertext))
                for name, category, ciphertext in session.execute(_FIELDS, {"record_id": record_id})
            }
            # A field's category is the catalog's, never the stored column's: a row
            # relabelled in the database must not widen who may decrypt it.
            known = self.catalog.record_type(record.record_type).fields
            if any(name not in known for name in stored):
                raise DecryptionFailed()
            stored = {name: (known[name].category.value, ct) for name, (_, ct) in stored.items()}
            categories = frozenset(Category(cat) for cat, _ in stored.values())
            decision = self.policy.decide(
                principal,
                Action.READ_RECORD,
                Resource(
                    kind="record",
                    subject_id=subject_id,
                    organization=subject.organization,
                    record_type=record.record_type,
                    categories=categories,
                ),
                self._context(session, principal, subject_id, purpose=purpose),
            )
            readable = sorted(
                n for n, (cat, _) in stored.items() if Category(cat) in decision.categories
            )
            # The wrapped key is read in the same snapshot; it is unwrapped only after
            # the audit event is durable. The read transaction ends before the audit
            # append: on SQLite a reader still open while the audit writer commits
            # keeps the WAL from being checkpointed to its end (measured: the append
            # took twice as long, and the WAL kept growing).
            wrapped = self.subject_keys.wrapped_key(session, subject_id) if readable else None
        event = self._decision_event(
            principal,
            "record.read",
            subject_id,
            record_id,
            decision,
            purpose,
            categories=tuple(sorted({stored[n][0] for n in readable})),
        )
        if not decision.allowed and not decision.withheld:
            # The same answer as for a subject that does not exist: a caller who
            # may not read this subject may not learn that it exists either.
            return ReadPlan(event, refusal=NotFound("No such subject."))
        return ReadPlan(
            event,
            opening=_Opening(subject_id, record, stored, readable, wrapped, decision),
        )

    def _rate_limited_event(self, principal: Principal, subject_id: uuid.UUID) -> AuditEvent:
        return self._event(
            principal, "record.read", Outcome.DENY, subject_id, reason="read rate limit"
        )

    def disclose(self, plan: ReadPlan) -> RecordView:
        """The outcome of a planned read; call it only once ``plan.event`` is durable."""
        if plan.refusal is not None:
            raise plan.refusal
        opening = plan.opening
        assert opening is not None  # a plan has a refusal or an opening
        stored, decision = opening.stored, opening.decision
        plaintext: dict[str, str] = {}
        if opening.readable:
            if opening.wrapped is None:
                raise NotFound("no data key for this subject (never created, or shredded)")
            dek = self.subject_keys.unwrap(opening.subject_id, opening.wrapped)
            plaintext = open_fields(
                dek,
                subject_id=opening.subject_id,
                record_id=opening.record.id,
                record_type=opening.record.record_type,
                version=opening.record.version,
                stored={n: ct for n, (_, ct) in stored.items()},
                wanted=opening.readable,
            )
        withheld = {
            name: decision.withheld.get(Category(cat), "not permitted for this purpose")
            for name, (cat, _) in stored.items()
            if name not in plaintext
        }
        return RecordView(
            _meta(opening.record), plaintext, withheld, decision.consent_id, decision.break_glass_id
        )

    def export_for_subject(self, subject_id: uuid.UUID) -> dict[str, object]:
        """Everything the vault holds about a subject, decrypted for the subject alone.

        Called only from the subject's own authenticated kiosk session (right of access).
        """
        with self.db.read_session() as session:
            subject = session.get(Subject, subject_id)
            if subject is None or subject.erased_at is not None:
                raise NotFound("No such subject.")
            self.audit.append(
                AuditEvent(
                    action="subject.export",
                    outcome=Outcome.ALLOW,
                    subject_id=subject_id,
                    actor_role="subject",
                    purpose="right_of_access",
                )
            )
            dek = self._data_key(session, subject_id)
            out: list[dict[str, object]] = []
            for record in session.execute(
                select(Record)
                .where(col(Record.subject_id) == subject_id)
                .order_by(col(Record.created_at), col(Record.version))
            ).scalars():
                stored = _ciphertexts(session, record.id)
                out.append(
                    {
                        "id": str(record.id),
                        "type": record.record_type,
                        "version": record.version,
                        "current": record.superseded_at is None,
                        "created_at": record.created_at.isoformat(),
                        "fields": open_fields(
                            dek,
                            subject_id=subject_id,
                            record_id=record.id,
                            record_type=record.record_type,
                            version=record.version,
                            stored=stored,
                            wanted=stored.keys(),
                        ),
                    }
                )
            return {
                "subject_id": str(subject_id),
                "organization": subject.organization,
                "status": subject.status,
                "records": out,
            }

    def date_of_birth(self, session: Session, subject_id: uuid.UUID) -> date:
        """The subject's date of birth, for the consent rules on minors.

        Decrypted only inside the vault; never returned to a caller.
        """
        subject = session.get(Subject, subject_id)
        if subject is None or subject.erased_at is not None or subject.identity_record_id is None:
            raise NotFound("No such subject.")
        record = session.get(Record, subject.identity_record_id)
        assert record is not None
        stored = _ciphertexts(session, record.id)
        dek = self._data_key(session, subject_id)
        value = open_fields(
            dek,
            subject_id=subject_id,
            record_id=record.id,
            record_type=record.record_type,
            version=record.version,
            stored=stored,
            wanted=["date_of_birth"],
        )
        return date.fromisoformat(value["date_of_birth"])

    # ------------------------------------------------------------- key rotation

    def rotate_subject_key(self, subject_id: uuid.UUID) -> int:
        """Give the subject a new data key and re-encrypt every field under it.

        An operator's job (``vault keys rotate-subject``), e.g. after a key may
        have been exposed. One transaction: either every field is under the new
        key, or nothing changed. Returns the number of fields re-encrypted.
        """
        self.audit.append(
            AuditEvent(
                action="key.subject_rotate",
                outcome=Outcome.INFO,
                actor_role="operator",
                subject_id=subject_id,
            )
        )
        rewritten = 0
        with self.db.session() as session:
            self._live_subject(session, subject_id)

            def reencrypt(old: DataKey, new: DataKey) -> None:
                nonlocal rewritten
                records = session.exec(
                    select(Record).where(col(Record.subject_id) == subject_id)
                ).all()
                for record in records:
                    stored = _stored_fields(session, record.id)
                    plain = open_fields(
                        old,
                        subject_id=subject_id,
                        record_id=record.id,
                        record_type=record.record_type,
                        version=record.version,
                        stored={name: row.ciphertext for name, row in stored.items()},
                        wanted=stored,
                    )
                    sealed = seal_fields(
                        new,
                        subject_id=subject_id,
                        record_id=record.id,
                        record_type=record.record_type,
                        version=record.version,
                        values=plain,
                    )
                    for name, row in stored.items():
                        row.ciphertext = sealed[name]
                        session.add(row)
                        rewritten += 1

            self.subject_keys.rotate_subject(session, subject_id, reencrypt)
        return rewritten

    # ------------------------------------------------------------------ erasure

    def _shred(self, session: Session, subject: Subject) -> None:
        """Crypto-shred: delete the wrapped data key and every ciphertext; keep the audit trail."""
        record_ids = select(col(Record.id)).where(col(Record.subject_id) == subject.id)
        session.execute(delete(RecordField).where(col(RecordField.record_id).in_(record_ids)))
        self.subject_keys.shred(session, subject.id)
        subject.erased_at = self.clock()
        subject.status = SubjectStatus.ERASED.value
        subject.pin_hash = None
        # The digests are not reversible, but they would still link a later
        # registration of the same person to this erased one.
        subject.nik_index = "erased"
        subject.register_index = "erased"

    def _live_subject(self, session: Session, subject_id: uuid.UUID) -> Subject:
        subject = session.get(Subject, subject_id)
        if subject is None or subject.erased_at is not None:
            raise NotFound("No such subject.")
        return subject

    def approve_erasure(
        self, principal: Principal, subject_id: uuid.UUID, valid_for: timedelta
    ) -> tuple[uuid.UUID, datetime]:
        """The second person of an erasure: a compliance officer's one-time approval."""
        if principal.role is not Role.COMPLIANCE_OFFICER:
            self._deny(
                principal,
                "subject.erasure_approve",
                subject_id,
                "only a compliance officer approves",
            )
            raise Forbidden("Only a compliance officer approves an erasure.")
        with self.db.read_session() as session:
            if self._live_subject(session, subject_id).legal_hold:
                raise Conflict("The subject is under a legal hold; erasure cannot be approved.")
        approval = ErasureApproval(
            subject_id=subject_id, approver_id=principal.id, expires_at=self.clock() + valid_for
        )
        self.audit.append(
            self._event(
                principal,
                "subject.erasure_approve",
                Outcome.ALLOW,
                subject_id,
                target_id=approval.id,
            )
        )
        with self.db.session() as session:
            self._live_subject(session, subject_id)
            session.add(approval)
        return approval.id, approval.expires_at

    def _erasure_problem(
        self, session: Session, principal: Principal, subject_id: uuid.UUID, approval_id: uuid.UUID
    ) -> str | None:
        approval = session.get(ErasureApproval, approval_id)
        if approval is None or approval.subject_id != subject_id:
            return "no approval with that id for this subject"
        if approval.used_at is not None:
            return "the approval was already used"
        if approval.expires_at <= self.clock():
            return "the approval has expired"
        if approval.approver_id == principal.id:
            return "the approver and the eraser must be two different people"
        if self._live_subject(session, subject_id).legal_hold:
            return "the subject is under a legal hold"
        return None

    def erase_with_approval(
        self, principal: Principal, subject_id: uuid.UUID, approval_id: uuid.UUID
    ) -> None:
        """An administrator erases a subject with a compliance officer's unused approval."""
        if principal.role is not Role.ADMIN:
            self._deny(principal, "subject.erase", subject_id, "only an administrator erases")
            raise Forbidden("Only an administrator erases a subject.")
        with self.db.read_session() as session:
            problem = self._erasure_problem(session, principal, subject_id, approval_id)
        if problem is not None:
            self._deny(principal, "subject.erase", subject_id, problem)
            if "legal hold" in problem:
                raise Conflict(f"Erasure refused: {problem}.")
            raise Forbidden(f"Erasure refused: {problem}.")
        self.audit.append(
            self._event(
                principal, "subject.erase", Outcome.ALLOW, subject_id, target_id=approval_id
            )
        )
        with self.db.session() as session:
            # Checked again under the write lock: the approval may have been used meanwhile.
            problem = self._erasure_problem(session, principal, subject_id, approval_id)
            if problem is not None:
                raise Conflict(f"Erasure refused: {problem}.")
            approval = session.get(ErasureApproval, approval_id)
            assert approval is not None
            approval.used_at = self.clock()
            self._shred(session, self._live_subject(session, subject_id))
        # secure_delete zeroed the rows in the database file; the WAL still holds the old
        # pages until a checkpoint, so push it through now.
        purge_freed_pages(self.db)

    def set_legal_hold(self, principal: Principal, subject_id: uuid.UUID, hold: bool) -> None:
        if principal.role is not Role.COMPLIANCE_OFFICER:
            self._deny(
                principal, "subject.legal_hold", subject_id, "only a compliance officer sets holds"
            )
            raise Forbidden("Only a compliance officer sets or lifts a legal hold.")
        with self.db.read_session() as session:
            self._live_subject(session, subject_id)
        self.audit.append(
            self._event(
                principal, "subject.legal_hold", Outcome.ALLOW, subject_id, details={"hold": hold}
            )
        )
        with self.db.session() as session:
            self._live_subject(session, subject_id).legal_hold = hold

    # ------------------------------------------------------------------ helpers

    def _write_record(
        self,
        session: Session,
        dek: DataKey,
        subject_id: uuid.UUID,
        principal: Principal,
        record_type: str,
        values: Mapping[str, str],
        previous: Record | None,
        record_id: uuid.UUID | None = None,
    ) -> Record:
        record_id = record_id or uuid.uuid4()
        version = previous.version + 1 if previous else 1
        record = Record(
            id=record_id,
            subject_id=subject_id,
            record_type=record_type,
            version=version,
            lineage_id=previous.lineage_id if previous else record_id,
            supersedes_id=previous.id if previous else None,
            author_id=principal.id,
            author_org=principal.organization,
        )
        if previous is not None:
            previous.superseded_at = self.clock()
        session.add(record)
        session.flush()
        sealed = seal_fields(
            dek,
            subject_id=subject_id,
            record_id=record_id,
            record_type=record_type,
            version=version,
            values=values,
        )
        for name, ciphertext in sealed.items():
            session.add(
                RecordField(
                    record_id=record_id,
                    name=name,
                    category=self.catalog.category_of(record_type, name),
                    ciphertext=ciphertext,
                )
            )
        return record

    def _data_key(self, session: Session, subject_id: uuid.UUID) -> DataKey:
        return self.subject_keys.data_key(session, subject_id)

    def _visible_subject(
        self, session: Session, principal: Principal, subject_id: uuid.UUID, *, purpose: str | None
    ) -> SubjectRef:
        """The subject, if the caller may know it exists; 404 otherwise (same as missing)."""
        subject = self._find_visible_subject(session, principal, subject_id, purpose)
        if subject is None:
            self.audit.append(self._hidden_subject_event(principal, subject_id, purpose))
            raise NotFound("No such subject.")
        return subject

    def _find_visible_subject(
        self, session: Reads, principal: Principal, subject_id: uuid.UUID, purpose: str | None
    ) -> SubjectRef | None:
        row = session.execute(_SUBJECT, {"subject_id": subject_id}).first()
        if row is None or row.erased_at is not None:
            return None
        subject = SubjectRef(row.id, row.organization, row.status, row.legal_hold)
        if subject.organization == principal.organization:
            return subject
        now = self.clock()
        for grant in self.consents.active_consents(subject_id, now, session):
            if principal.organization in grant.recipients and (
                purpose is None or purpose == grant.purpose
            ):
                return subject
        return None

    def _hidden_subject_event(
        self, principal: Principal, subject_id: uuid.UUID, purpose: str | None
    ) -> AuditEvent:
        return self._event(
            principal,
            "subject.lookup",
            Outcome.DENY,
            subject_id,
            purpose=purpose,
            reason="no such subject, or held by another organisation "
            "without a consent naming the caller's",
        )

    def _own_subject(
        self, session: Session, principal: Principal, subject_id: uuid.UUID
    ) -> Subject:
        subject = session.get(Subject, subject_id)
        if (
            subject is None
            or subject.erased_at is not None
            or subject.organization != principal.organization
        ):
            raise NotFound("No such subject.")
        return subject

    def _context(
        self, session: Reads, principal: Principal, subject_id: uuid.UUID, *, purpose: str | None
    ) -> DecisionContext:
        now = self.clock()
        consents: Sequence[ConsentGrant] = self.consents.active_consents(subject_id, now, session)
        grant = (
            self.facts.break_glass(session, principal.id, subject_id, now)
            if purpose == EMERGENCY_PURPOSE
            else None
        )
        return DecisionContext(
            purpose=purpose,
            assigned=self.facts.is_assigned(session, principal.id, subject_id),
            consents=consents,
            break_glass=grant,
            now=now,
        )

    def _require(self, principal: Principal, action: Action, resource: Resource) -> Decision:
        decision = self.policy.decide(
            principal,
            action,
            resource,
            DecisionContext(
                purpose=None, assigned=False, consents=(), break_glass=None, now=self.clock()
            ),
        )
        if not decision.allowed:
            self.audit.append(
                self._decision_event(
                    principal, action.value, resource.subject_id, None, decision, None
                )
            )
            raise Forbidden(f"Not allowed: {decision.reason}")
        return decision

    def _deny(
        self, principal: Principal, action: str, subject_id: uuid.UUID | None, reason: str
    ) -> None:
        self.audit.append(self._event(principal, action, Outcome.DENY, subject_id, reason=reason))

    @staticmethod
    def _event(
        principal: Principal,
        action: str,
        outcome: Outcome,
        subject_id: uuid.UUID | None,
        **extra: object,
    ) -> AuditEvent:
        return AuditEvent(
            action=action,
            outcome=outcome,
            actor_id=principal.id,
            actor_role=principal.role.value,
            actor_org=principal.organization,
            subject_id=subject_id,
            **extra,  # type: ignore[arg-type]
        )

    @staticmethod
    def _decision_event(
        principal: Principal,
        action: str,
        subject_id: uuid.UUID | None,
        target_id: uuid.UUID | None,
        decision: Decision,
        purpose: str | None,
        categories: tuple[str, ...] = (),
    ) -> AuditEvent:
        return AuditEvent(
            action=action,
            outcome=Outcome.ALLOW if decision.allowed else Outcome.DENY,
            actor_id=principal.id,
            actor_role=principal.role.value,
            actor_org=principal.organization,
            subject_id=subject_id,
            target_id=target_id,
            categories=categories,
            purpose=purpose,
            consent_id=decision.consent_id,
            break_glass_id=decision.break_glass_id,
            policy_ids=decision.policy_ids,
            reason=None if decision.allowed else decision.reason,
            details={"withheld": len(decision.withheld)} if decision.withheld else {},
        )


def _stored_fields(session: Session, record_id: uuid.UUID) -> dict[str, RecordField]:
    rows = session.exec(select(RecordField).where(col(RecordField.record_id) == record_id))
    return {row.name: row for row in rows}


def _ciphertexts(session: Session, record_id: uuid.UUID) -> dict[str, bytes]:
    return {name: row.ciphertext for name, row in _stored_fields(session, record_id).items()}


def _meta(record: Record | Row[Any]) -> RecordMeta:
    return RecordMeta(
        id=record.id,
        type=record.record_type,
        version=record.version,
        lineage_id=record.lineage_id,
        supersedes_id=record.supersedes_id,
        current=record.superseded_at is None,
        created_at=record.created_at,
    )
