"""Assignments (care teams) and break-glass grants: the operations behind their endpoints.

Order of work: read the facts, ask the policy engine, append the audit event,
then write. Every refusal is audited under the caller's name. Another
organisation's subject, assignment, grant or account answers exactly like a
missing one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import delete
from sqlmodel import col

from vault.access.break_glass import (
    JUSTIFICATION_TABLE,
    BreakGlassView,
    Opener,
    check_justification,
    check_review,
    grants_of_org,
    openers_of_org,
)
from vault.access.care_team import active_assignment, care_team_change, live_subject
from vault.access.engine import PolicyEngine
from vault.access.grant_ledger import person_ledger, reserve
from vault.access.models import Assignment, BreakGlass, ReviewOutcome
from vault.audit.canonical import format_time
from vault.audit.events import AuditEvent, AuditSink, Outcome
from vault.config import Settings
from vault.crypto.columns import ColumnSealer
from vault.db import Database
from vault.errors import Conflict, DecryptionFailed, Forbidden, InvalidInput, NotFound
from vault.identity.models import User
from vault.vocabulary import (
    Action,
    ConsentGrant,
    ConsentProvider,
    Decision,
    DecisionContext,
    EventAction,
    OperationFacts,
    Principal,
    Resource,
)

# The service's public names (its views are returned by its methods).
__all__ = ["AccessService", "BreakGlassView", "Opener", "People"]

NO_SUBJECT = "No such subject."
NO_ASSIGNMENT = "No such active assignment."
NO_GRANT = "No such break-glass grant."
NO_USER = "No such user."
NO_STAFF = (
    "user_id: no active user of your organisation, or of a recipient organisation "
    "an active consent of this subject names"
)


class People(Protocol):
    """The identity capability, as far as the two-person rule needs it."""

    def distinct_people(self, first: uuid.UUID, second: uuid.UUID) -> bool: ...


class AccessService:
    def __init__(
        self,
        db: Database,
        policy: PolicyEngine,
        audit: AuditSink,
        settings: Settings,
        clock: Callable[[], datetime],
        *,
        sealer: ColumnSealer,
        people: People,
        consents: ConsentProvider | None = None,
    ) -> None:
        self.db = db
        self.policy = policy
        self.audit = audit
        self.settings = settings
        self.clock = clock
        # Justifications may mention health facts: stored sealed, shown to reviewers only.
        self.sealer = sealer
        # Reviews and lifted blocks count only from a second person (IdentityService).
        self.people = people
        # Consents decide whether another organisation (a sentra after release) may
        # put its staff on a subject's care team; without a provider, none may.
        self.consents = consents

    def _grants(self, subject_id: uuid.UUID) -> Sequence[ConsentGrant]:
        if self.consents is None:
            return ()
        return self.consents.active_consents(subject_id, self.clock())

    def _refused(
        self, actor: Principal, event: EventAction, decision: Decision, **fields: object
    ) -> None:
        self.audit.append(
            AuditEvent.by(
                actor,
                event,
                Outcome.DENY,
                policy_ids=decision.policy_ids,
                reason=decision.reason,
                **fields,
            )
        )

    def _person_facts(self, actor: Principal, user: User | None) -> OperationFacts:
        """The facts about an account: its organisation and role, and whether it is the
        actor, or the actor's creator or creation (the same person, for the two-person rule)."""
        if user is None:
            return OperationFacts()
        on_self = user.id == actor.id
        return OperationFacts(
            target_org=user.organization,
            on_self=on_self,
            created_by_principal=not on_self and not self.people.distinct_people(actor.id, user.id),
            target_role=user.role,
        )

    # -- assignments -----------------------------------------------------------

    def assign(self, actor: Principal, user_id: uuid.UUID, subject_id: uuid.UUID) -> uuid.UUID:
        """Put a staff member on a subject's care team; returns the assignment id."""
        with self.db.read_session() as session:
            subject = live_subject(session, subject_id)
            user = session.get(User, user_id)
            change = care_team_change(actor, subject, user, self._grants(subject_id))
            decision = self.policy.authorize(
                actor, Action.MANAGE_ASSIGNMENTS, change.facts, subject_id
            )
            if not decision.allowed:
                self._refused(
                    actor,
                    EventAction.ASSIGNMENT_CREATE,
                    decision,
                    subject_id=subject_id if subject else None,
                    details={"user_id": str(user_id)},
                )
                if not change.subject_visible:
                    raise NotFound(NO_SUBJECT)  # not allowed to know it exists
            if not change.user_visible:
                raise InvalidInput(NO_STAFF)
            if not decision.allowed:
                raise Forbidden(f"Not allowed: {decision.reason}")
            if active_assignment(session, user_id, subject_id) is not None:
                raise Conflict("This user is already assigned to this subject.")
        assignment = Assignment(user_id=user_id, subject_id=subject_id, assigned_by=actor.id)
        self.audit.append(
            AuditEvent.by(
                actor,
                EventAction.ASSIGNMENT_CREATE,
                Outcome.INFO,
                subject_id=subject_id,
                target_id=assignment.id,
                policy_ids=decision.policy_ids,
                details={"user_id": str(user_id)},
            )
        )
        with self.db.session() as session:
            session.add(assignment)
        return assignment.id

    def end_assignment(self, actor: Principal, assignment_id: uuid.UUID) -> None:
        """End an assignment; it stops counting on the very next request."""
        with self.db.read_session() as session:
            assignment = session.get(Assignment, assignment_id)
            if assignment is not None and assignment.ended_at is not None:
                assignment = None
            subject = live_subject(session, assignment.subject_id) if assignment else None
            user = session.get(User, assignment.user_id) if assignment else None
            grants = self._grants(subject.id) if subject else ()
            change = care_team_change(actor, subject, user, grants)
            decision = self.policy.authorize(
                actor, Action.END_ASSIGNMENT, change.facts, subject.id if subject else None
            )
            if not decision.allowed:
                self._refused(
                    actor,
                    EventAction.ASSIGNMENT_END,
                    decision,
                    subject_id=subject.id if subject else None,
                    target_id=assignment_id,
                )
                if assignment is None or not (change.subject_visible and change.user_visible):
                    raise NotFound(NO_ASSIGNMENT)  # another organisation's: as if missing
                raise Forbidden(f"Not allowed: {decision.reason}")
            subject_id = subject.id if subject else None
        self.audit.append(
            AuditEvent.by(
                actor,
                EventAction.ASSIGNMENT_END,
                Outcome.INFO,
                subject_id=subject_id,
                target_id=assignment_id,
                policy_ids=decision.policy_ids,
            )
        )
        with self.db.session() as session:
            row = session.get(Assignment, assignment_id)
            if row is None or row.ended_at is not None:
                raise NotFound(NO_ASSIGNMENT)
            row.ended_at = self.clock()
            row.ended_by = actor.id
            session.add(row)

    # -- break-glass: opening ----------------------------------------------------

    def _genuine(self, row: BreakGlass) -> bool:
        """Whether the vault wrote the grant row (its justification opens, bound to its id)."""
        try:
            self.sealer.open(JUSTIFICATION_TABLE, "justification", row.id, row.justification)
        except DecryptionFailed:
            return False
        return True

    def open_break_glass(
        self, actor: Principal, subject_id: uuid.UUID, justification: str
    ) -> BreakGlassView:
        """Open an emergency grant for the caller on one subject; it waits for review."""
        now = self.clock()
        with self.db.read_session() as session:
            subject = live_subject(session, subject_id)
            held_by = subject.organization if subject else None
            decision = self.policy.decide(
                actor,
                Action.BREAK_GLASS,
                Resource(kind="subject", subject_id=subject_id, organization=held_by),
                DecisionContext(None, assigned=False, consents=(), break_glass=None, now=now),
            )
            if not decision.allowed:
                self._refused(
                    actor,
                    EventAction.BREAK_GLASS_OPEN,
                    decision,
                    subject_id=subject_id if subject else None,
                )
                if subject is None or subject.organization != actor.organization:
                    raise NotFound(NO_SUBJECT)  # not allowed to know it exists
                raise Forbidden(f"Not allowed: {decision.reason}")
            text = check_justification(justification)
        grant_id = uuid.uuid4()
        row = BreakGlass(
            id=grant_id,
            user_id=actor.id,
            subject_id=subject_id,
            justification=self.sealer.seal(JUSTIFICATION_TABLE, "justification", grant_id, text),
            expires_at=now + timedelta(seconds=self.settings.break_glass_ttl_seconds),
            created_at=now,
            updated_at=now,
        )
        # Limits checked and the grant reserved in one serialised transaction; the audit
        # event follows, and until it is durable the grant opens nothing.
        cap = self.settings.break_glass_daily_cap
        refusal = reserve(self.db, row, now, cap, self._genuine)
        if refusal is not None:
            limit = Decision(allowed=False, policy_ids=(), reason=refusal.detail)
            self._refused(actor, EventAction.BREAK_GLASS_OPEN, limit, subject_id=subject_id)
            raise refusal
        # The audit names the grant, never the justification (it may mention health data).
        event = AuditEvent.by(
            actor,
            EventAction.BREAK_GLASS_OPEN,
            Outcome.ALLOW,
            subject_id=subject_id,
            target_id=row.id,
            break_glass_id=row.id,
            policy_ids=decision.policy_ids,
            details={
                "expires_in": self.settings.break_glass_ttl_seconds,
                # What decisions compare the stored grant with (vault.access.facts).
                "expires_at": format_time(row.expires_at),
            },
        )
        try:
            self.audit.append(event)
        except BaseException:
            with self.db.session() as session:  # no event, no grant: give the place back
                session.execute(delete(BreakGlass).where(col(BreakGlass.id) == grant_id))
            raise
        return BreakGlassView.of(row, self.sealer)

    # -- break-glass: compliance -------------------------------------------------

    def _authorize_list(self, actor: Principal) -> Decision:
        decision = self.policy.authorize(
            actor, Action.LIST_BREAK_GLASS, OperationFacts(target_org=actor.organization)
        )
        if not decision.allowed:
            self._refused(actor, EventAction.BREAK_GLASS_LIST, decision)
            raise Forbidden(f"Not allowed: {decision.reason}")
        return decision

    def break_glass_grants(self, actor: Principal, *, pending: bool) -> list[BreakGlassView]:
        """The grants of the caller's organisation, for review; justifications opened."""
        decision = self._authorize_list(actor)
        with self.db.read_session() as session:
            rows = grants_of_org(session, actor.organization, pending=pending)
            views = [BreakGlassView.of(row, self.sealer) for row in rows]
        self.audit.append(
            AuditEvent.by(
                actor,
                EventAction.BREAK_GLASS_LIST,
                Outcome.INFO,
                policy_ids=decision.policy_ids,
                details={"pending": pending, "count": len(views)},
            )
        )
        return views

    def break_glass_openers(self, actor: Principal) -> list[Opener]:
        """Who of the caller's organisation opened grants in the last 30 days, most first."""
        decision = self._authorize_list(actor)
        with self.db.read_session() as session:
            openers = openers_of_org(session, actor.organization, self.clock())
        self.audit.append(
            AuditEvent.by(
                actor,
                EventAction.BREAK_GLASS_LIST,
                Outcome.INFO,
                policy_ids=decision.policy_ids,
                details={"view": "openers", "count": len(openers)},
            )
        )
        return openers

    def review_break_glass(
        self, actor: Principal, grant_id: uuid.UUID, outcome: str, note: str | None
    ) -> BreakGlassView:
        """A compliance officer's verdict on a grant of their organisation, held by another."""
        with self.db.read_session() as session:
            row = session.get(BreakGlass, grant_id)
            grantee = session.get(User, row.user_id) if row else None
            facts = self._person_facts(actor, grantee)
            decision = self.policy.authorize(actor, Action.REVIEW_BREAK_GLASS, facts)
            if not decision.allowed:
                self._refused(
                    actor,
                    EventAction.BREAK_GLASS_REVIEW,
                    decision,
                    target_id=grant_id,
                    details={"grantee_id": str(row.user_id) if row else None},
                )
                if grantee is None or grantee.organization != actor.organization:
                    raise NotFound(NO_GRANT)  # another organisation's: as if missing
                raise Forbidden(f"Not allowed: {decision.reason}")
            verdict = check_review(outcome, note)
            if row is None or row.reviewed_at is not None:
                raise Conflict("This grant has already been reviewed.")
            subject_id, grantee_id = row.subject_id, row.user_id
        self.audit.append(
            AuditEvent.by(
                actor,
                EventAction.BREAK_GLASS_REVIEW,
                Outcome.INFO,
                subject_id=subject_id,
                target_id=grant_id,
                break_glass_id=grant_id,
                policy_ids=decision.policy_ids,
                details={"outcome": verdict.value, "grantee_id": str(grantee_id)},
            )
        )
        now = self.clock()
        with self.db.session() as session:
            found = session.get(BreakGlass, grant_id)
            if found is None or found.reviewed_at is not None:
                raise Conflict("This grant has already been reviewed.")
            found.reviewed_at = now
            found.reviewer_id = actor.id
            found.outcome = verdict.value
            found.review_note = note
            if verdict is ReviewOutcome.UNJUSTIFIED and found.expires_at > now:
                found.expires_at = now  # an unjustified grant ends at once
            session.add(found)
            return BreakGlassView.of(found, self.sealer)

    def lift_break_glass_block(self, actor: Principal, user_id: uuid.UUID) -> int:
        """Let a person blocked by an unjustified review open grants again; returns how many
        unjustified grants the lift covers. The ``break_glass.unblock`` event is the lift
        (``vault.access.grant_ledger``); the rows only show it."""
        with self.db.read_session() as session:
            user = session.get(User, user_id)
            facts = self._person_facts(actor, user)
            decision = self.policy.authorize(actor, Action.UNBLOCK_BREAK_GLASS, facts)
            if not decision.allowed:
                self._refused(actor, EventAction.BREAK_GLASS_UNBLOCK, decision, target_id=user_id)
                if user is None or user.organization != actor.organization:
                    raise NotFound(NO_USER)  # another organisation's: as if missing
                raise Forbidden(f"Not allowed: {decision.reason}")
            blocking = person_ledger(session, user_id, self._genuine).blocking()
        if not blocking:
            raise Conflict("This person's break-glass is not blocked.")
        self.audit.append(
            AuditEvent.by(
                actor,
                EventAction.BREAK_GLASS_UNBLOCK,
                Outcome.INFO,
                target_id=user_id,
                policy_ids=decision.policy_ids,
                details={"grants": len(blocking)},
            )
        )
        now = self.clock()
        with self.db.session() as session:
            for grant_id in blocking:
                found = session.get(BreakGlass, grant_id)
                if found is not None and found.block_lifted_at is None:
                    found.block_lifted_at = now
                    found.block_lifted_by = actor.id
                    session.add(found)
        return len(blocking)
