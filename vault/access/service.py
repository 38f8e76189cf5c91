"""Assignments (care teams) and break-glass grants: the operations behind their endpoints.

Order of work: read and decide, append the audit event, then write.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session, col

from vault.access.engine import PolicyEngine
from vault.access.models import Assignment, BreakGlass, ReviewOutcome
from vault.audit.canonical import format_time
from vault.audit.events import AuditEvent, AuditSink, Outcome
from vault.config import Settings
from vault.crypto.columns import ColumnSealer
from vault.db import Database
from vault.errors import Conflict, Forbidden, InvalidInput, NotFound
from vault.identity.models import User
from vault.subjects.models import Subject
from vault.vocabulary import (
    Action,
    ConsentGrant,
    ConsentProvider,
    DecisionContext,
    Principal,
    Resource,
    Role,
)

ASSIGNABLE_ROLES = frozenset(
    {Role.COUNSELOR, Role.SOCIAL_WORKER, Role.HEALTH_OFFICER, Role.OFFICER}
)
MIN_JUSTIFICATION_CHARS = 30
MIN_JUSTIFICATION_WORDS = 5
MAX_JUSTIFICATION_CHARS = 2000
MAX_NOTE_CHARS = 2000
_WORD = re.compile(r"[^\W\d_]{2,}")


@dataclass(frozen=True)
class BreakGlassView:
    id: uuid.UUID
    user_id: uuid.UUID
    subject_id: uuid.UUID
    justification: str
    opened_at: datetime
    expires_at: datetime
    reviewed_at: datetime | None
    reviewer_id: uuid.UUID | None
    outcome: str | None

    @classmethod
    def of(cls, row: BreakGlass, sealer: ColumnSealer) -> BreakGlassView:
        return cls(
            id=row.id,
            user_id=row.user_id,
            subject_id=row.subject_id,
            justification=sealer.open(
                JUSTIFICATION_TABLE, "justification", row.id, row.justification
            ),
            opened_at=row.created_at,
            expires_at=row.expires_at,
            reviewed_at=row.reviewed_at,
            reviewer_id=row.reviewer_id,
            outcome=row.outcome,
        )

    def __repr__(self) -> str:  # the justification may carry health facts
        return f"BreakGlassView(id={self.id}, subject_id={self.subject_id}, outcome={self.outcome})"


JUSTIFICATION_TABLE = "break_glass_grants"


def check_justification(text: str) -> str:
    """A justification must read as a sentence: long enough, several real words."""
    text = " ".join(text.split())
    if len(text) > MAX_JUSTIFICATION_CHARS:
        raise InvalidInput(f"justification: at most {MAX_JUSTIFICATION_CHARS} characters")
    words = _WORD.findall(text)
    distinct = {word.casefold() for word in words}
    if (
        len(text) < MIN_JUSTIFICATION_CHARS
        or len(words) < MIN_JUSTIFICATION_WORDS
        or len(distinct) < MIN_JUSTIFICATION_WORDS - 1
    ):
        raise InvalidInput(
            "justification: write a sentence saying why the emergency needs this access "
            f"(at least {MIN_JUSTIFICATION_CHARS} characters and {MIN_JUSTIFICATION_WORDS} words)"
        )
    return text


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
        consents: ConsentProvider | None = None,
    ) -> None:
        self.db = db
        self.policy = policy
        self.audit = audit
        self.settings = settings
        self.clock = clock
        # Justifications may mention health facts: stored sealed, shown to reviewers only.
        self.sealer = sealer
        # Consents decide whether another organisation (a sentra after release) may
        # put its staff on a subject's care team; without a provider, none may.
        self.consents = consents

    def _grants(self, subject_id: uuid.UUID) -> Sequence[ConsentGrant]:
        if self.consents is None:
            return ()
        return self.consents.active_consents(subject_id, self.clock())

    def _event(
        self, actor: Principal, action: str, outcome: Outcome, **extra: object
    ) -> AuditEvent:
        return AuditEvent(
            action=action,
            outcome=outcome,
            actor_id=actor.id,
            actor_role=actor.role.value,
            actor_org=actor.organization,
            **extra,  # type: ignore[arg-type]
        )

    def _decide_on_subject(
        self, session: Session, actor: Principal, action: Action, subject_id: uuid.UUID
    ) -> Subject:
        subject = session.get(Subject, subject_id)
        if subject is None or subject.erased_at is not None:
            raise NotFound("No such subject.")
        grants = self._grants(subject_id) if action is Action.MANAGE_ASSIGNMENTS else ()
        decision = self.policy.decide(
            actor,
            action,
            Resource(kind="subject", subject_id=subject_id, organization=subject.organization),
            DecisionContext(
                purpose=None, assigned=False, consents=grants, break_glass=None, now=self.clock()
            ),
        )
        if not decision.allowed:
            self.audit.append(
                self._event(
                    actor,
                    action.value,
                    Outcome.DENY,
                    subject_id=subject_id,
                    policy_ids=decision.policy_ids,
                    reason=decision.reason,
                )
            )
            if subject.organization != actor.organization:
                raise NotFound("No such subject.")  # not allowed to know it exists
            raise Forbidden(f"Not allowed: {decision.reason}")
        return subject

    # -- assignments -----------------------------------------------------------

    def assign(self, actor: Principal, user_id: uuid.UUID, subject_id: uuid.UUID) -> uuid.UUID:
        """Put a staff member on a subject's care team; returns the assignment id."""
        with self.db.read_session() as session:
            subject = self._decide_on_subject(session, actor, Action.MANAGE_ASSIGNMENTS, subject_id)
            user = session.get(User, user_id)
            if user is None or user.disabled_at is not None:
                raise InvalidInput("user_id: no such active user")
            if user.role not in {r.value for r in ASSIGNABLE_ROLES}:
                raise InvalidInput(f"user_id: a {user.role} cannot be on a care team")
            if user.organization != subject.organization and not any(
                user.organization in grant.recipients for grant in self._grants(subject_id)
            ):
                raise InvalidInput(
                    "user_id: the user's organisation holds no active consent of this subject "
                    "naming it as a recipient"
                )
            if self._active_assignment(session, user_id, subject_id) is not None:
                raise Conflict("This user is already assigned to this subject.")
        assignment = Assignment(user_id=user_id, subject_id=subject_id, assigned_by=actor.id)
        self.audit.append(
            self._event(
                actor,
                "assignment.create",
                Outcome.INFO,
                subject_id=subject_id,
                target_id=assignment.id,
                details={"user_id": str(user_id)},
            )
        )
        with self.db.session() as session:
            session.add(assignment)
        return assignment.id

    @staticmethod
    def _active_assignment(
        session: Session, user_id: uuid.UUID, subject_id: uuid.UUID
    ) -> Assignment | None:
        return session.execute(
            select(Assignment)
            .where(col(Assignment.user_id) == user_id)
            .where(col(Assignment.subject_id) == subject_id)
            .where(col(Assignment.ended_at).is_(None))
        ).scalar_one_or_none()

    def end_assignment(self, actor: Principal, assignment_id: uuid.UUID) -> None:
        with self.db.read_session() as session:
            assignment = session.get(Assignment, assignment_id)
            if assignment is None or assignment.ended_at is not None:
                raise NotFound("No such active assignment.")
            subject_id = assignment.subject_id
            self._decide_on_subject(session, actor, Action.MANAGE_ASSIGNMENTS, subject_id)
        self.audit.append(
            self._event(
                actor,
                "assignment.end",
                Outcome.INFO,
                subject_id=subject_id,
                target_id=assignment_id,
            )
        )
        with self.db.session() as session:
            row = session.get(Assignment, assignment_id)
            if row is None or row.ended_at is not None:
                raise NotFound("No such active assignment.")
            row.ended_at = self.clock()
            row.ended_by = actor.id
            session.add(row)

    # -- break-glass -------------------------------------------------------------

    def open_break_glass(
        self, actor: Principal, subject_id: uuid.UUID, justification: str
    ) -> BreakGlassView:
        """Open an emergency grant for the caller on one subject; it waits for review."""
        text = check_justification(justification)
        with self.db.read_session() as session:
            self._decide_on_subject(session, actor, Action.BREAK_GLASS, subject_id)
        now = self.clock()
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
        # The audit names the grant, never the justification (it may mention health data).
        self.audit.append(
            self._event(
                actor,
                "break_glass.open",
                Outcome.ALLOW,
                subject_id=subject_id,
                target_id=row.id,
                break_glass_id=row.id,
                details={
                    "expires_in": self.settings.break_glass_ttl_seconds,
                    # What decisions compare the stored grant with (vault.access.facts).
                    "expires_at": format_time(row.expires_at),
                },
            )
        )
        with self.db.session() as session:
            session.add(row)
        return BreakGlassView.of(row, self.sealer)

    def break_glass_grants(self, actor: Principal, *, pending: bool) -> list[BreakGlassView]:
        self._require_compliance(actor)
        with self.db.read_session() as session:
            query = select(BreakGlass).order_by(col(BreakGlass.created_at))
            if pending:
                query = query.where(col(BreakGlass.reviewed_at).is_(None))
            views = [
                BreakGlassView.of(row, self.sealer) for row in session.execute(query).scalars()
            ]
        self.audit.append(
            self._event(
                actor,
                "break_glass.list",
                Outcome.INFO,
                details={"pending": pending, "count": len(views)},
            )
        )
        return views

    def review_break_glass(
        self, actor: Principal, grant_id: uuid.UUID, outcome: str, note: str | None
    ) -> BreakGlassView:
        self._require_compliance(actor)
        try:
            verdict = ReviewOutcome(outcome)
        except ValueError:
            raise InvalidInput("outcome: 'justified' or 'unjustified'") from None
        if note is not None and len(note) > MAX_NOTE_CHARS:
            raise InvalidInput(f"note: at most {MAX_NOTE_CHARS} characters")
        with self.db.read_session() as session:
            row = session.get(BreakGlass, grant_id)
            if row is None:
                raise NotFound("No such break-glass grant.")
            if row.reviewed_at is not None:
                raise Conflict("This grant has already been reviewed.")
            subject_id = row.subject_id
        self.audit.append(
            self._event(
                actor,
                "break_glass.review",
                Outcome.INFO,
                subject_id=subject_id,
                target_id=grant_id,
                break_glass_id=grant_id,
                details={"outcome": verdict.value},
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

    def _require_compliance(self, actor: Principal) -> None:
        if Role(actor.role) is not Role.COMPLIANCE_OFFICER:
            raise Forbidden("Only a compliance officer reviews break-glass grants.")
