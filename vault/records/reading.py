"""Reading records: the one place a record's fields are decrypted for a caller.

The order of a read is the vault's central promise: decide, record the audit
event durably, and only then unwrap the subject's key and decrypt the fields
the decision allows. If the audit event cannot be written, nothing is
decrypted. ``RecordReader.read`` does the three steps; ``plan`` (decide) and
``disclose`` (unwrap, decrypt) are its halves. The subject's own export and
the identity fields the vault's own rules need are the other decryptions
(``vault.records.own_decryptions``); the ciphers themselves are
``vault.records.fieldcrypt``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from vault.audit.events import AuditEvent, Outcome
from vault.audit.log import AuditLog
from vault.crypto.keys import WrappedKey
from vault.cursor_reads import Ahead, CursorReads, NotSentAhead, Reads
from vault.db import Database
from vault.errors import DecryptionFailed, InvalidInput, NotFound, RateLimited, VaultError
from vault.records.catalog import Catalog
from vault.records.decisions import DecisionFacts, Opening, ReadPlan, decision_event
from vault.records.fieldcrypt import open_record
from vault.records.ports import (
    CallerCheck,
    Decoys,
    PolicyDecider,
    SubjectKeyStore,
    Subjects,
)
from vault.records.ratelimit import ReadLimiter
from vault.records.rows import (
    RECORD_READ,
    RecordMeta,
    RecordView,
)
from vault.subjects.visibility import SubjectRef
from vault.threads import run_store_work, run_waiting_work
from vault.vocabulary import Action, Category, EventAction, Principal, Resource

T = TypeVar("T")


def _require_purpose(purpose: str) -> None:
    if not purpose:
        raise InvalidInput("purpose: a declared purpose is required")


@dataclass
class RecordReader:
    db: Database
    catalog: Catalog
    policy: PolicyDecider
    subjects: Subjects
    subject_keys: SubjectKeyStore
    audit: AuditLog
    decisions: DecisionFacts
    clock: Callable[[], datetime]
    read_limiter: ReadLimiter | None = None
    # Store reads and unwrapping may run on the event loop (``vault.threads``):
    # an embedded store, and keys held in memory.
    inline_store: bool = False
    inline_keys: bool = False
    # Called with a listed subject (``vault.honeytokens.watch``): a decoy raises an alert.
    on_touch: Callable[[Principal, Collection[uuid.UUID], str], None] | None = None
    # Which subjects are decoys; a read of one (allowed or refused) records a hit.
    decoys: Decoys | None = None

    async def read(
        self,
        caller: Principal | CallerCheck,
        subject_id: uuid.UUID,
        record_id: uuid.UUID,
        purpose: str,
    ) -> RecordView:
        """Decide, make the audit event durable, then decrypt only what is allowed.

        ``caller``: a principal already authenticated, or a credential to check in
        the read's own snapshot (``plan_for``). A coroutine: the decision runs
        without a thread hop on an embedded store, and the wait for the audit
        event's group commit holds no thread at all.
        """
        with self.audit.expecting() as slot:
            principal, plan = await run_store_work(
                self.inline_store, partial(self.plan_for, caller, subject_id, record_id, purpose)
            )
            # Durable first: if this raises AuditUnavailable nothing is decrypted.
            await self.audit.append_async(plan.event, slot)
        if plan.decoy and self.decoys is not None:
            hit = partial(self.decoys.hit, principal, (subject_id,), EventAction.RECORD_READ.value)
            # In a worker thread: the hit's own audit event is waited for, and may
            # disable the reader's account.
            await run_waiting_work(hit)
        # Unwrap (from the key cache, or the provider) and decrypt: no store access.
        return await run_store_work(self.inline_keys, partial(self.disclose, plan))

    def plan_for(
        self,
        caller: Principal | CallerCheck,
        subject_id: uuid.UUID,
        record_id: uuid.UUID,
        purpose: str,
    ) -> tuple[Principal, ReadPlan]:
        """The principal and the plan of a read; a credential is checked first.

        A credential known to this process is checked in the read's own snapshot,
        its statements sent with the read's (``vault.identity.bearer``); one that
        is unknown, or does not confirm the principal it was last seen for, is
        checked on its own, and ``AuthenticationFailed`` leaves before anything is
        decided or recorded.
        """
        if isinstance(caller, Principal):
            return caller, self.plan(caller, subject_id, record_id, purpose)
        guessed = caller.guess()
        if guessed is not None:
            planned = self._planned_as_guessed(caller, guessed, subject_id, record_id, purpose)
            if planned is not None:
                return guessed, planned
        principal = caller.authenticate()
        return principal, self.plan(principal, subject_id, record_id, purpose)

    def _refused(
        self,
        principal: Principal,
        subject_id: uuid.UUID,
        refusal: VaultError,
        decoy: bool,
        **fields: Any,
    ) -> ReadPlan:
        event = AuditEvent.by(
            principal, EventAction.RECORD_READ, Outcome.DENY, subject_id=subject_id, **fields
        )
        return ReadPlan(event, refusal=refusal, decoy=decoy)

    def _is_decoy(self, reads: Reads, subject_id: uuid.UUID) -> bool:
        return self.decoys is not None and self.decoys.is_decoy(reads, subject_id)

    def _admit(self, principal: Principal, purpose: str) -> RateLimited | None:
        """The checks before any store read: a purpose, and this process's read limit."""
        _require_purpose(purpose)
        return self._limited(principal)

    def _limited(self, principal: Principal) -> RateLimited | None:
        if self.read_limiter is not None:
            try:
                self.read_limiter.check(principal.id)
            except RateLimited as limited:
                return limited
        return None

    def plan(
        self, principal: Principal, subject_id: uuid.UUID, record_id: uuid.UUID, purpose: str
    ) -> ReadPlan:
        """Everything of a read that comes before its audit event.

        Checks, the decision and the event to record; it only reads the store and
        neither appends nor decrypts.
        """
        limited = self._admit(principal, purpose)
        if limited is None:
            return self._planned(principal, subject_id, record_id, purpose, self.clock())
        with self.db.read_cursor(one_statement=True) as reads:
            decoy = self._is_decoy(reads, subject_id)
        return self._refused(principal, subject_id, limited, decoy, reason="read rate limit")

    def _ahead(
        self,
        principal: Principal,
        subject_id: uuid.UUID,
        record_id: uuid.UUID,
        purpose: str,
        now: datetime,
    ) -> list[Ahead]:
        """Every statement a read of an existing record of one's own organisation runs,
        sent at once (one round trip on PostgreSQL); any other runs when asked."""
        ahead = [
            (RECORD_READ, {"subject_id": subject_id, "record_id": record_id}),
            *self.decisions.context_ahead(principal, subject_id, purpose, now),
        ]
        if self.read_limiter is not None:
            ahead.append(self.read_limiter.logged_ahead(principal.id, now))
        return ahead

    def _planned(
        self,
        principal: Principal,
        subject_id: uuid.UUID,
        record_id: uuid.UUID,
        purpose: str,
        now: datetime,
    ) -> ReadPlan:
        ahead = self._ahead(principal, subject_id, record_id, purpose, now)
        return self._in_one_snapshot(
            ahead, lambda reads: self._decide(reads, principal, subject_id, record_id, purpose, now)
        )

    def _planned_as_guessed(
        self,
        check: CallerCheck,
        guessed: Principal,
        subject_id: uuid.UUID,
        record_id: uuid.UUID,
        purpose: str,
    ) -> ReadPlan | None:
        """The read planned for ``guessed``, the credential checked in the same snapshot.

        None (nothing decided, nothing to record) unless the credential stands for
        exactly ``guessed``. The process's read limit counts the read only then:
        a revoked token must not spend its former owner's reads.
        """
        _require_purpose(purpose)
        now = self.clock()
        ahead = [*check.ahead(), *self._ahead(guessed, subject_id, record_id, purpose, now)]

        def decide(reads: CursorReads) -> ReadPlan | None:
            if not check.confirms(reads, guessed):
                return None
            return self._decide(reads, guessed, subject_id, record_id, purpose, now)

        decided = self._in_one_snapshot(ahead, decide)
        if decided is None:
            return None
        # Counted once the read is decided (a decision asked twice counts once).
        limited = self._limited(guessed)
        if limited is not None:
            return self._refused(
                guessed, subject_id, limited, decided.decoy, reason="read rate limit"
            )
        return decided

    def _in_one_snapshot(self, ahead: list[Ahead], work: Callable[[CursorReads], T]) -> T:
        """``work`` on the answers of ``ahead``, all read in one snapshot.

        First on those answers alone: on PostgreSQL one round trip whose
        transaction ends with it (measured at 32 connections: 1.95 ms of server
        CPU a read against 2.16 ms with a ROLLBACK round trip after). Should ``work`` ask
        anything else (a subject that does not exist, another organisation's),
        once more, in a transaction that stays open for it. ``work`` only reads.
        """
        try:
            with self.db.read_cursor(ahead=ahead, only_ahead=True) as reads:
                return work(reads)
        except NotSentAhead:
            with self.db.read_cursor(ahead=ahead) as reads:
                return work(reads)

    def _decide(
        self,
        reads: Reads,
        principal: Principal,
        subject_id: uuid.UUID,
        record_id: uuid.UUID,
        purpose: str,
        now: datetime,
    ) -> ReadPlan:
        """The decision of a read on the answers of one snapshot (``reads``)."""
        limit = self.read_limiter
        # Subject, record, fields, wrapped key and decoy mark: one statement.
        rows = reads.execute(RECORD_READ, {"subject_id": subject_id, "record_id": record_id}).all()
        found = rows[0] if rows else None
        decoy = found.decoy is not None if found is not None else self._is_decoy(reads, subject_id)
        if self.decoys is None:
            decoy = False
        if limit is not None:
            try:
                limit.check_logged(reads, principal.id, now)
            except RateLimited as limited:
                return self._refused(
                    principal, subject_id, limited, decoy, reason="read rate limit"
                )
        live = (
            SubjectRef(subject_id, found.organization, found.status, found.legal_hold)
            if found is not None and found.erased_at is None
            else None
        )
        subject = self.subjects.admitted(reads, principal, live, purpose)
        if subject is None:
            return ReadPlan(
                self.decisions.unseen(principal, Action.READ_RECORD, subject_id, purpose),
                refusal=NotFound("No such subject."),
                decoy=decoy,
            )
        record = found if found is not None and found.id is not None else None
        if record is None:
            # Decided like any read of this subject: a caller who may not read it
            # gets the answer of an existing record it may not read, so record
            # ids cannot be probed.
            decision = self.policy.decide(
                principal,
                Action.READ_RECORD,
                Resource(kind="record", subject_id=subject_id, organization=subject.organization),
                self.decisions.context(reads, principal, subject_id, purpose, now),
            )
            if not decision.allowed:
                event = decision_event(
                    principal, EventAction.RECORD_READ, subject_id, record_id, decision, purpose
                )
                return ReadPlan(event, refusal=NotFound("No such subject."), decoy=decoy)
            return self._refused(
                principal,
                subject_id,
                NotFound("No such record."),
                decoy,
                target_id=record_id,
                purpose=purpose,
                reason="no such record",
            )
        # A field's category is the catalog's, never the stored column's: a row
        # relabelled in the database must not widen who may decrypt it.
        known = self.catalog.record_type(record.record_type).fields
        stored: dict[str, tuple[str, bytes]] = {}
        for row in rows:
            if row.field_name is None:
                continue  # a record without fields
            if row.field_name not in known:
                raise DecryptionFailed()
            stored[row.field_name] = (
                known[row.field_name].category.value,
                bytes(row.ciphertext),
            )
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
            self.decisions.context(reads, principal, subject_id, purpose, now),
        )
        readable = sorted(
            n for n, (cat, _) in stored.items() if Category(cat) in decision.categories
        )
        # The wrapped key was read in the same snapshot; it is unwrapped only after
        # the audit event is durable. The read transaction ends before the audit
        # append: on SQLite a reader still open while the audit writer commits
        # keeps the WAL from being checkpointed to its end (measured: the append
        # took twice as long, and the WAL kept growing).
        wrapped = (
            WrappedKey(int(record.kek_version), bytes(record.wrapped_dek))
            if readable and record.wrapped_dek is not None
            else None
        )
        event = decision_event(
            principal,
            EventAction.RECORD_READ,
            subject_id,
            record_id,
            decision,
            purpose,
            categories=tuple(sorted({stored[n][0] for n in readable})),
        )
        if not decision.allowed and not decision.withheld:
            # The same answer as for a subject that does not exist: a caller who
            # may not read this subject may not learn that it exists either.
            return ReadPlan(event, refusal=NotFound("No such subject."), decoy=decoy)
        return ReadPlan(
            event,
            opening=Opening(subject_id, record, stored, readable, wrapped, decision),
            decoy=decoy,
        )

    def disclose(self, plan: ReadPlan) -> RecordView:
        """The outcome of a planned read; call it only once ``plan.event`` is durable."""
        opening = plan.opening
        if plan.refusal is not None:
            raise plan.refusal
        if opening is None:
            raise NotFound("No such subject.")  # a plan has a refusal or an opening
        stored, decision = opening.stored, opening.decision
        plaintext: dict[str, str] = {}
        if opening.readable:
            if opening.wrapped is None:
                raise NotFound("no data key for this subject (never created, or shredded)")
            dek = self.subject_keys.unwrap(opening.subject_id, opening.wrapped)
            sealed = {n: ct for n, (_, ct) in stored.items()}
            plaintext = open_record(
                dek, opening.subject_id, opening.record, sealed, opening.readable
            )
        withheld = {
            name: decision.withheld.get(Category(cat), "not permitted for this purpose")
            for name, (cat, _) in stored.items()
            if name not in plaintext
        }
        return RecordView(
            RecordMeta.of(opening.record),
            plaintext,
            withheld,
            decision.consent_id,
            decision.break_glass_id,
        )
