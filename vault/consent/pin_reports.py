"""What the subject and the approvers see of PINs: where a PIN came from, "I did not
choose this PIN", and the PIN resets waiting for a second person.

The first PIN is chosen in a kiosk session that a staff member opened, and that
staff member holds the tablet before the subject does: they could choose it
themselves. So on every later visit the kiosk shows the subject when, and in
whose session, their PIN was set (``pin_origin``, read from the audit log's
``consent.pin_set``), with a button "I did not choose this PIN"
(``disown_pin``). Pressing it blocks the PIN at once (it signs, withdraws and
opens nothing: ``PinBlock``), asks for a reset in that session, and writes a
``consent.pin_disowned`` event that the compliance officer's alerts show
(rule ``pin_disowned``). Only a two-person reset lets the subject choose a new
PIN.

Approvers find the resets waiting for them with ``pending_resets`` (``GET
/v1/pin-resets?state=pending``): only their organisation's, only those the
policy lets them approve (never one they asked for themselves).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from vault.audit.events import Outcome
from vault.audit.queries import AuditFilters, AuditQueries
from vault.consent.choosing import RESET_VALID, PinChoosing
from vault.consent.core import NO_SUCH_SUBJECT
from vault.consent.model import Actor
from vault.consent.tables import PinBlock, PinReset
from vault.errors import Forbidden, NotFound
from vault.vocabulary import Action, EventAction, OperationFacts, Principal


@dataclass(frozen=True)
class PinOrigin:
    """When the subject's current PIN was set, and in whose kiosk session."""

    set_at: datetime
    opened_by: uuid.UUID | None  # None: set on the host (the demo), not at a kiosk
    after_reset: bool
    blocked: bool


@dataclass(frozen=True)
class PendingReset:
    """A PIN reset waiting for its second person."""

    id: uuid.UUID
    subject_id: uuid.UUID
    requested_by: uuid.UUID
    requested_at: datetime
    expires_at: datetime
    disowned: bool  # asked for because the subject said they did not choose their PIN


class PinBlocked(Forbidden):
    """The subject disowned this PIN: it opens nothing until a two-person reset."""

    def __init__(self) -> None:
        super().__init__(
            "This PIN is blocked: the person said they did not choose it. A PIN reset "
            "approved by a second staff member lets them choose a new one."
        )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def pin_blocked(session: Session, subject_id: uuid.UUID) -> bool:
    found = session.exec(select(PinBlock.id).where(col(PinBlock.subject_id) == subject_id))
    return found.first() is not None


class PinReports(PinChoosing):
    """The subject's view of their PIN's origin, disowning it, and the approvers' list."""

    def pin_origin(self, subject_id: uuid.UUID) -> PinOrigin | None:
        """Where the subject's current PIN came from (None: no PIN yet)."""
        with self.db.read_session() as session:
            subject = self._live_subject(session, subject_id)
            if subject is None:
                raise NotFound(NO_SUCH_SUBJECT)
            blocked = pin_blocked(session, subject_id)
        if subject.pin_hash is None:
            return None
        found = AuditQueries(self.db).iter_events(
            AuditFilters(
                subject_id=subject_id, action=EventAction.PIN_SET.value, decision=Outcome.ALLOW
            )
        )
        last = None
        for event in found:
            last = event
        if last is None:
            return None
        actor = last.get("actor_id")
        opened_by = uuid.UUID(str(actor)) if actor and str(actor) != str(subject_id) else None
        details = last.get("details") or {}
        return PinOrigin(
            set_at=datetime.fromisoformat(str(last["time"]).replace("Z", "+00:00")),
            opened_by=opened_by,
            after_reset=bool(details.get("after_reset")),
            blocked=blocked,
        )

    def disown_pin(
        self, witness: Principal, subject_id: uuid.UUID, kiosk_session: uuid.UUID
    ) -> uuid.UUID:
        """The subject says they did not choose their PIN: block it, alert, ask a reset.

        Returns the reset's id (a second person approves it; then the subject chooses
        a new PIN in this session). Needs no PIN: the subject may not know the one set.
        """
        audit = self._need(self.audit, "audit log")
        self.open_kiosk(witness, subject_id)
        origin = self.pin_origin(subject_id)
        if origin is None:
            raise NotFound("This person has no PIN yet.")
        audit.append(
            Actor.subject(subject_id, witness).event(
                EventAction.PIN_DISOWNED,
                Outcome.DENY,
                subject_id=subject_id,
                target_id=kiosk_session,
                reason="the person says they did not choose this PIN",
                details={
                    "severity": "critical",
                    "pin_set_at": origin.set_at.isoformat(),
                    "pin_set_in_session_of": str(origin.opened_by) if origin.opened_by else None,
                },
            )
        )
        try:
            with self.db.session() as session:
                if not pin_blocked(session, subject_id):
                    session.add(
                        PinBlock(
                            subject_id=subject_id,
                            kiosk_session_id=kiosk_session,
                            reported_at=self.clock(),
                        )
                    )
        except IntegrityError:
            pass  # blocked meanwhile by the same press: it is blocked either way
        state = self.pin_state(subject_id, kiosk_session)
        if state.reset_pending is not None:
            return state.reset_pending
        return self.request_reset(witness, subject_id, kiosk_session)

    def pending_resets(self, approver: Principal) -> list[PendingReset]:
        """The unexpired, unapproved resets of the approver's organisation that the policy
        lets this approver approve (``pin.reset_approve``; never their own request)."""
        audit = self._need(self.audit, "audit log")
        policy = self._need(self.policy, "policy engine")
        people = self._need(self.people, "two-person rule")
        allowed = policy.authorize(
            approver, Action.APPROVE_PIN_RESET, OperationFacts(target_org=approver.organization)
        )
        if not allowed.allowed:
            raise Forbidden(f"Not allowed: {allowed.reason}.")
        now = self.clock()
        with self.db.read_session() as session:
            rows = session.exec(
                select(PinReset)
                .where(
                    col(PinReset.organization) == approver.organization,
                    col(PinReset.approved_at).is_(None),
                    col(PinReset.used_at).is_(None),
                    col(PinReset.requested_at) > now - RESET_VALID,
                )
                .order_by(col(PinReset.requested_at))
            ).all()
            blocked = {
                row.subject_id
                for row in session.exec(
                    select(PinBlock).where(
                        col(PinBlock.subject_id).in_([r.subject_id for r in rows])
                    )
                ).all()
            }
            found = [
                PendingReset(
                    row.id,
                    row.subject_id,
                    row.requested_by,
                    _aware(row.requested_at),
                    _aware(row.requested_at) + RESET_VALID,
                    row.subject_id in blocked,
                )
                for row in rows
            ]
        mine = []
        for reset in found:
            facts = OperationFacts(
                target_org=approver.organization,
                created_by_principal=not people.distinct_people(approver.id, reset.requested_by),
            )
            decision = policy.authorize(approver, Action.APPROVE_PIN_RESET, facts, reset.subject_id)
            if decision.allowed:
                mine.append(reset)
        audit.append(
            Actor.staff(approver).event(
                EventAction.PIN_RESET_LIST, Outcome.ALLOW, details={"found": len(mine)}
            )
        )
        return mine
