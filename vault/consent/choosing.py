"""The subject chooses their own PIN at the kiosk; a forgotten one is reset by two people.

Registration takes no PIN. The first time a kiosk session is opened for a
subject who has none, the kiosk asks the subject to choose one, privately,
typed twice. It is refused when it is easy to guess (``obvious``): fewer than
six digits, one digit repeated, a run up or down, or the subject's own date of
birth (DDMMYY, DDMMYYYY, YYMMDD, YYYYMMDD). The date of birth is decrypted
for that check inside the vault and never returned; the read is audited: the
``consent.pin_set`` event (allowed or refused) carries the category
``identity`` and ``date_of_birth_checked``.

The staff member who opened the session is not the one who chooses, but they
hold the tablet before the subject does. So the staff member who registered
the subject may not open the session in which the first PIN is chosen
(``IdentityService.distinct_people``): the officer who knows the person's
data from registration cannot also choose their PIN.

A forgotten PIN: the staff member who opened the kiosk session asks for a
reset there (``request_reset``), with the subject beside them; a second
person of the same organisation approves over the API (``approve_reset``,
policy action ``pin.reset_approve``, two distinct people); then the subject
chooses a new PIN in that same kiosk session. Consents already signed stay as
they are.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from sqlalchemy import delete
from sqlmodel import col, select

from vault.audit.events import Outcome
from vault.audit.queries import AuditFilters, AuditQueries
from vault.consent.core import NO_SUCH_SUBJECT, ConsentCore
from vault.consent.model import Actor
from vault.consent.tables import PinBlock, PinReset
from vault.errors import Conflict, Forbidden, InvalidInput, NotFound
from vault.subjects.models import Subject
from vault.vocabulary import Action, EventAction, OperationFacts, Principal

MIN_PIN_DIGITS = 6
MAX_PIN_DIGITS = 12
# How long an asked-for reset waits for its second person.
RESET_VALID = timedelta(minutes=30)
NO_SUCH_RESET = "No such PIN reset."


class TwoPeople(Protocol):
    def distinct_people(self, first: uuid.UUID, second: uuid.UUID) -> bool: ...


def _runs(length: int) -> set[str]:
    digits = "0123456789" * 3
    up = {digits[i : i + length] for i in range(10)}
    return up | {run[::-1] for run in up}


def birth_forms(born: date) -> set[str]:
    """The date of birth as people write it: DDMMYY, DDMMYYYY, YYMMDD, YYYYMMDD."""
    d, m, y = f"{born.day:02d}", f"{born.month:02d}", f"{born.year:04d}"
    return {d + m + y[2:], d + m + y, y[2:] + m + d, y + m + d}


def obvious(pin: str, born: date | None) -> str | None:
    """Why ``pin`` is too easy to guess (a message key), or None when it may be chosen."""
    if not pin.isdigit() or not MIN_PIN_DIGITS <= len(pin) <= MAX_PIN_DIGITS:
        return "pin_too_short"
    if len(set(pin)) == 1:
        return "pin_same_digit"
    if pin in _runs(len(pin)):
        return "pin_run"
    if born is not None and any(form in pin for form in birth_forms(born)):
        return "pin_birth_date"
    return None


class PinRefused(InvalidInput):
    """A PIN that may not be chosen; ``reason`` is the message key the kiosk shows."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass(frozen=True)
class PinState:
    """Whether the subject has a PIN, and whether this kiosk session may choose a new one."""

    has_pin: bool
    reset_pending: uuid.UUID | None  # asked for in this session, awaiting approval
    may_choose: bool
    blocked: bool = False  # the subject said they did not choose it (vault.consent.pin_reports)


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes; every stored time is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class _Reset:
    """A PIN reset as read (no live row leaves its transaction)."""

    id: uuid.UUID
    organization: str
    subject_id: uuid.UUID
    requested_by: uuid.UUID
    requested_at: datetime
    approved: bool
    used: bool

    @classmethod
    def of(cls, row: PinReset) -> _Reset:
        return cls(
            row.id,
            row.organization,
            row.subject_id,
            row.requested_by,
            _aware(row.requested_at),
            row.approved_at is not None,
            row.used_at is not None,
        )


class PinChoosing(ConsentCore):
    """Choosing a PIN at the kiosk and resetting a forgotten one."""

    people: TwoPeople | None = None

    def _registrar(self, subject_id: uuid.UUID) -> uuid.UUID | None:
        """Who registered the subject, as the audit log says."""
        found = AuditQueries(self.db).iter_events(
            AuditFilters(
                subject_id=subject_id,
                action=EventAction.SUBJECT_REGISTER.value,
                decision=Outcome.ALLOW,
            )
        )
        for event in found:
            actor = event.get("actor_id")
            return uuid.UUID(str(actor)) if actor else None
        return None

    def _open_resets(self, subject_id: uuid.UUID, kiosk_session: uuid.UUID) -> list[_Reset]:
        """The resets asked for in this kiosk session, unused and not expired."""
        now = self.clock()
        with self.db.read_session() as session:
            rows = session.exec(
                select(PinReset).where(
                    col(PinReset.subject_id) == subject_id,
                    col(PinReset.kiosk_session_id) == kiosk_session,
                    col(PinReset.used_at).is_(None),
                )
            ).all()
            return [_Reset.of(row) for row in rows if _aware(row.requested_at) + RESET_VALID > now]

    def _approved_reset(self, subject_id: uuid.UUID, kiosk_session: uuid.UUID) -> _Reset | None:
        approved = [r for r in self._open_resets(subject_id, kiosk_session) if r.approved]
        return approved[0] if approved else None

    def pin_state(self, subject_id: uuid.UUID, kiosk_session: uuid.UUID) -> PinState:
        """What the kiosk must ask of the subject in this session about their PIN."""
        with self.db.read_session() as session:
            subject = self._live_subject(session, subject_id)
            if subject is None:
                raise NotFound(NO_SUCH_SUBJECT)
            blocked = session.exec(
                select(PinBlock.id).where(col(PinBlock.subject_id) == subject_id)
            ).first()
        resets = self._open_resets(subject_id, kiosk_session)
        waiting = [r.id for r in resets if not r.approved]
        approved = any(r.approved for r in resets)
        has_pin = subject.pin_hash is not None
        return PinState(
            has_pin=has_pin,
            reset_pending=waiting[0] if waiting else None,
            may_choose=not has_pin or approved,
            blocked=blocked is not None,
        )

    def choose_pin(
        self,
        subject_id: uuid.UUID,
        pin: str,
        again: str,
        *,
        witness: Principal | None,
        kiosk_session: uuid.UUID | None,
    ) -> None:
        """The subject chooses their PIN (typed twice) in a kiosk session.

        Allowed when the subject has no PIN yet (and the session was not opened by
        the staff member who registered them), or after an approved reset asked
        for in this very session. ``witness`` None is the host's own action (the
        demo, tests): it may only give a PIN to a subject who has none.
        """
        audit = self._need(self.audit, "audit log")
        hasher = self._need(self.hasher, "PIN hasher")
        facts = self._need(self.facts, "subject records (date of birth)")
        actor = Actor.subject(subject_id, witness)
        with self.db.read_session() as session:
            subject = self._live_subject(session, subject_id)
            if subject is None:
                raise NotFound(NO_SUCH_SUBJECT)
        reset = (
            self._approved_reset(subject_id, kiosk_session) if kiosk_session is not None else None
        )
        if subject.pin_hash is not None and reset is None:
            raise Forbidden("This person already has a PIN; a forgotten PIN needs a reset.")
        if subject.pin_hash is None and reset is None and witness is not None:
            people = self._need(self.people, "two-person rule")
            registrar = self._registrar(subject_id)
            if registrar is not None and not people.distinct_people(registrar, witness.id):
                audit.append(
                    actor.event(
                        EventAction.PIN_SET,
                        Outcome.DENY,
                        subject_id=subject_id,
                        reason="session opened by the staff member who registered the person",
                    )
                )
                raise Forbidden(
                    "The staff member who registered this person cannot open the session "
                    "in which the person chooses a PIN; ask a colleague."
                )
        if pin != again:
            raise PinRefused("pin_mismatch", "The two PINs are not the same.")
        with self.db.read_session() as session:
            try:
                born: date | None = facts.date_of_birth(session, subject_id)
            except NotFound:
                born = None
        reason = obvious(pin, born)
        checked = {"date_of_birth_checked": born is not None}
        if reason is not None:
            audit.append(
                actor.event(
                    EventAction.PIN_SET,
                    Outcome.DENY,
                    subject_id=subject_id,
                    categories=("identity",),
                    reason=reason,
                    details=checked,
                )
            )
            raise PinRefused(reason, "This PIN is too easy to guess; choose another.")
        pin_hash = hasher.hash(pin)
        now = self.clock()
        audit.append(
            actor.event(
                EventAction.PIN_SET,
                Outcome.ALLOW,
                subject_id=subject_id,
                target_id=reset.id if reset else None,
                categories=("identity",),
                details={**checked, "after_reset": reset is not None},
            )
        )
        with self.db.session() as session:
            row = session.get(Subject, subject_id)
            if row is None or row.pin_hash != subject.pin_hash:
                raise Conflict("The PIN of this person changed meanwhile.")
            row.pin_hash = pin_hash
            session.add(row)
            if reset is not None:
                used = session.get(PinReset, reset.id)
                if used is None or used.used_at is not None:
                    raise Conflict("This PIN reset was used already.")
                used.used_at = now
                session.add(used)
                # A PIN the subject disowned is replaced now: the block has done its work.
                session.execute(delete(PinBlock).where(col(PinBlock.subject_id) == subject_id))
            self.pins.clear(session, subject_id)

    def request_reset(
        self, witness: Principal, subject_id: uuid.UUID, kiosk_session: uuid.UUID
    ) -> uuid.UUID:
        """The staff member of a kiosk session asks for the subject's PIN to be reset."""
        audit = self._need(self.audit, "audit log")
        self.open_kiosk(witness, subject_id)
        with self.db.read_session() as session:
            subject = self._live_subject(session, subject_id)
            if subject is None:
                raise NotFound(NO_SUCH_SUBJECT)
        reset = PinReset(
            subject_id=subject_id,
            organization=subject.organization,
            kiosk_session_id=kiosk_session,
            requested_by=witness.id,
            requested_at=self.clock(),
        )
        reset_id = reset.id
        audit.append(
            Actor.staff(witness).event(
                EventAction.PIN_RESET_REQUEST,
                Outcome.INFO,
                subject_id=subject_id,
                target_id=reset_id,
            )
        )
        with self.db.session() as session:
            session.add(reset)
        return reset_id

    def approve_reset(self, approver: Principal, reset_id: uuid.UUID) -> None:
        """A second person approves a reset (``pin.reset_approve``, two distinct people).

        Another organisation's reset answers exactly like a missing one.
        """
        audit = self._need(self.audit, "audit log")
        policy = self._need(self.policy, "policy engine")
        people = self._need(self.people, "two-person rule")
        now = self.clock()
        with self.db.read_session() as session:
            row = session.get(PinReset, reset_id)
            reset = _Reset.of(row) if row is not None else None
        if reset is None or reset.organization != approver.organization:
            raise NotFound(NO_SUCH_RESET)
        facts = OperationFacts(
            target_org=reset.organization,
            created_by_principal=not people.distinct_people(approver.id, reset.requested_by),
        )
        decision = policy.authorize(approver, Action.APPROVE_PIN_RESET, facts, reset.subject_id)
        if not decision.allowed:
            raise Forbidden(f"Not allowed: {decision.reason}.")
        if not people.distinct_people(reset.requested_by, approver.id):
            audit.append(
                Actor.staff(approver).event(
                    EventAction.PIN_RESET_APPROVE,
                    Outcome.DENY,
                    subject_id=reset.subject_id,
                    target_id=reset.id,
                    reason="the approver is not a second person",
                )
            )
            raise Forbidden(
                "A PIN reset needs a second person: not the one who asked, nor an account "
                "one of them created."
            )
        if reset.used or reset.approved:
            raise Conflict("This PIN reset was approved already.")
        if reset.requested_at + RESET_VALID <= now:
            raise Conflict("This PIN reset has expired; ask again at the kiosk.")
        audit.append(
            Actor.staff(approver).event(
                EventAction.PIN_RESET_APPROVE,
                Outcome.ALLOW,
                subject_id=reset.subject_id,
                target_id=reset.id,
                details={"requested_by": str(reset.requested_by), "approved_by": str(approver.id)},
            )
        )
        with self.db.session() as session:
            row = session.get(PinReset, reset_id)
            if row is None or row.approved_at is not None:
                raise Conflict("This PIN reset was approved already.")
            row.approved_by = approver.id
            row.approved_at = now
            session.add(row)
