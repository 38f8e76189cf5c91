"""The periodic access review: every active account and care-team assignment of an
organisation, each confirmed or ended by one of its compliance officers.

An item is *overdue* when it was not confirmed for ``VAULT_ACCESS_REVIEW_DAYS``
(90: quarterly) since it began or since its last confirmation. The dashboard
reminds of overdue items, and the first look that finds some in a period appends
``access_review.overdue``, which the alert rules turn into an alert.

Every decision asks the policies (``access_review.confirm`` or ``access_review.end``,
``policies/review.cedar``) with the facts of the item: whether it is the
reviewer's own account or assignment (``on_self``: nobody confirms their own
access) and whether the reviewer granted it (``created_by_principal``: nobody
confirms what they granted). Ending then goes through the ordinary operations,
which ask and audit their own actions: ``user.disable`` disables the account
(every token and session ends), ``assignment.end`` ends the assignment. Each
decision is an audit event. An account or assignment of another organisation
answers exactly like one that does not exist.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlmodel import col

from vault.access.engine import PolicyEngine
from vault.access.models import Assignment
from vault.access.service import AccessService
from vault.audit.events import AuditEvent, AuditSink, Outcome
from vault.db import Database
from vault.errors import Forbidden, InvalidInput, NotFound
from vault.identity.models import User
from vault.identity.service import IdentityService
from vault.subjects.models import Subject
from vault.vocabulary import Action, AuthenticatedUser, EventAction, OperationFacts, Principal
from vault.workbench.review_models import AccessReviewMark

__all__ = ["KINDS", "AccessReview", "ReviewItem", "ReviewPage"]

KINDS = ("account", "assignment")
DECISIONS = {
    "confirm": (Action.CONFIRM_ACCESS, EventAction.ACCESS_REVIEW_CONFIRM),
    "end": (Action.END_ACCESS, EventAction.ACCESS_REVIEW_END),
}
NO_ITEM = "No such account or assignment to review."


@dataclass(frozen=True)
class ReviewItem:
    """One account or assignment under review, and when it was last confirmed."""

    kind: str
    target_id: uuid.UUID
    user_id: uuid.UUID
    username: str
    role: str
    subject_id: uuid.UUID | None
    since: datetime
    confirmed_at: datetime | None
    overdue: bool


@dataclass(frozen=True)
class ReviewPage:
    """One page of the review: overdue items first, then accounts and assignments by name.

    ``number`` counts from 1 and is at most ``pages`` (a page past the end shows the
    last one); ``overdue`` counts the overdue items of every page.
    """

    items: list[ReviewItem]
    number: int
    size: int
    total: int
    overdue: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def previous(self) -> int | None:
        return self.number - 1 if self.number > 1 else None

    @property
    def next(self) -> int | None:
        return self.number + 1 if self.number < self.pages else None


@dataclass(frozen=True)
class _Target:
    kind: str
    target_id: uuid.UUID
    user: User
    subject_org: str | None
    subject_id: uuid.UUID | None
    granted_by: uuid.UUID | None


class AccessReview:
    def __init__(
        self,
        db: Database,
        audit: AuditSink,
        policy: PolicyEngine,
        identity: IdentityService,
        access: AccessService,
        clock: Callable[[], datetime],
        days: int,
    ) -> None:
        self.db, self.audit, self.policy = db, audit, policy
        self.identity, self.access, self.clock = identity, access, clock
        self.period = timedelta(days=days)

    # -- what is under review ------------------------------------------------------

    def items(self, organization: str) -> list[ReviewItem]:
        """Every active account of the organisation and every active assignment of its
        staff or of a subject it holds, accounts first, then by username."""
        now = self.clock()
        with self.db.read_session() as session:
            confirmed = dict(
                session.execute(
                    select(col(AccessReviewMark.target_id), func.max(AccessReviewMark.decided_at))
                    .where(col(AccessReviewMark.organization) == organization)
                    .where(col(AccessReviewMark.decision) == "confirm")
                    .group_by(col(AccessReviewMark.target_id))
                ).all()
            )
            accounts = session.execute(
                select(User)
                .where(col(User.organization) == organization)
                .where(col(User.disabled_at).is_(None))
                .where(col(User.approved_at).is_not(None))
            ).scalars()
            found = [
                self._item("account", u.id, u, None, u.approved_at or u.created_at, confirmed, now)
                for u in accounts
            ]
            rows = session.execute(
                select(Assignment, User)
                .join(User, col(User.id) == col(Assignment.user_id))
                .join(Subject, col(Subject.id) == col(Assignment.subject_id))
                .where(col(Assignment.ended_at).is_(None))
                .where(col(Subject.erased_at).is_(None))
                .where(
                    or_(
                        col(User.organization) == organization,
                        col(Subject.organization) == organization,
                    )
                )
            ).all()
            found += [
                self._item("assignment", a.id, u, a.subject_id, a.created_at, confirmed, now)
                for a, u in rows
            ]
        found.sort(key=lambda i: (i.kind, i.username, str(i.subject_id)))
        return found

    def _item(
        self,
        kind: str,
        target_id: uuid.UUID,
        user: User,
        subject_id: uuid.UUID | None,
        since: datetime,
        confirmed: dict[uuid.UUID, datetime],
        now: datetime,
    ) -> ReviewItem:
        last = confirmed.get(target_id)
        return ReviewItem(
            kind=kind,
            target_id=target_id,
            user_id=user.id,
            username=user.username,
            role=user.role,
            subject_id=subject_id,
            since=since,
            confirmed_at=last,
            overdue=now - (last or since) > self.period,
        )

    def page(self, reviewer: Principal, number: int, size: int) -> ReviewPage:
        """Page ``number`` (from 1) of ``size`` items; noticing overdue items like ``overdue``."""
        if number < 1 or size < 1:
            raise InvalidInput("page and page size count from 1.")
        items = self.items(reviewer.organization)
        items.sort(key=lambda i: not i.overdue)  # stable: overdue first, each in name order
        late = self.overdue(reviewer, items)
        pages = max(1, -(-len(items) // size))
        number = min(number, pages)
        shown = items[(number - 1) * size : number * size]
        return ReviewPage(shown, number, size, len(items), late)

    def overdue(self, reviewer: Principal, items: list[ReviewItem] | None = None) -> int:
        """How many items of the reviewer's organisation are overdue (of ``items`` if given).

        The first look in a period that finds some records ``access_review.overdue``
        (the alert rules raise ``access_review_overdue`` from it).
        """
        organization = reviewer.organization
        listed = self.items(organization) if items is None else items
        count = sum(1 for item in listed if item.overdue)
        if count == 0:
            return 0
        now = self.clock()
        with self.db.read_session() as session:
            noticed = session.execute(
                select(func.count())
                .select_from(AccessReviewMark)
                .where(col(AccessReviewMark.organization) == organization)
                .where(col(AccessReviewMark.kind) == "overdue")
                .where(col(AccessReviewMark.decided_at) > now - self.period)
            ).scalar_one()
        if not noticed:
            self.audit.append(
                AuditEvent.by(
                    reviewer,
                    EventAction.ACCESS_REVIEW_OVERDUE,
                    Outcome.INFO,
                    details={"overdue": count},
                )
            )
            self._mark(organization, "overdue", None, "overdue", None, now)
        return count

    # -- deciding ------------------------------------------------------------------

    def _target(self, organization: str, kind: str, target_id: uuid.UUID) -> _Target:
        """The active item, if it belongs to the organisation; NotFound otherwise."""
        with self.db.read_session() as session:
            if kind == "account":
                user = session.get(User, target_id)
                if user is None or user.disabled_at is not None or user.approved_at is None:
                    raise NotFound(NO_ITEM)
                if user.organization != organization:
                    raise NotFound(NO_ITEM)
                session.expunge(user)
                return _Target(kind, target_id, user, None, None, user.created_by)
            assignment = session.get(Assignment, target_id)
            if assignment is None or assignment.ended_at is not None:
                raise NotFound(NO_ITEM)
            holder = session.get(User, assignment.user_id)
            subject = session.get(Subject, assignment.subject_id)
            if holder is None or subject is None or subject.erased_at is not None:
                raise NotFound(NO_ITEM)
            if organization not in (holder.organization, subject.organization):
                raise NotFound(NO_ITEM)
            session.expunge(holder)
            return _Target(
                kind, target_id, holder, subject.organization, subject.id, assignment.assigned_by
            )

    def _facts(self, reviewer: Principal, target: _Target) -> OperationFacts:
        user = target.user
        on_self = user.id == reviewer.id
        if target.kind == "account":
            granted = not on_self and not self.identity.distinct_people(reviewer.id, user.id)
        else:
            granted = target.granted_by == reviewer.id
        return OperationFacts(
            target_org=target.subject_org or user.organization,
            on_self=on_self,
            created_by_principal=granted,
            target_role=user.role,
            account_org=user.organization,
        )

    def decide(
        self, reviewer: AuthenticatedUser, kind: str, target_id: uuid.UUID, decision: str
    ) -> None:
        """Confirm or end one item (see the module); refusals are audited and raised."""
        if kind not in KINDS or decision not in DECISIONS:
            raise InvalidInput("kind must be account or assignment; decision confirm or end.")
        action, event = DECISIONS[decision]
        principal = reviewer.principal()
        target = self._target(principal.organization, kind, target_id)
        verdict = self.policy.authorize(
            principal, action, self._facts(principal, target), target.subject_id
        )
        fields = {
            "subject_id": target.subject_id,
            "target_id": target_id,
            "details": {"kind": kind, "user_id": str(target.user.id), "via": "access_review"},
        }
        if not verdict.allowed:
            self.audit.append(
                AuditEvent.by(
                    principal,
                    event,
                    Outcome.DENY,
                    policy_ids=verdict.policy_ids,
                    reason=verdict.reason,
                    **fields,
                )
            )
            raise Forbidden(f"Not allowed: {verdict.reason}")
        if decision == "end" and kind == "account":
            self.identity.disable_user(target.user.id, reviewer)
        elif decision == "end":
            self.access.end_assignment(principal, target_id)
        self.audit.append(
            AuditEvent.by(
                principal,
                event,
                Outcome.ALLOW,
                policy_ids=verdict.policy_ids,
                **fields,
            )
        )
        self._mark(principal.organization, kind, target_id, decision, principal.id, self.clock())

    def _mark(
        self,
        organization: str,
        kind: str,
        target_id: uuid.UUID | None,
        decision: str,
        by: uuid.UUID | None,
        at: datetime,
    ) -> None:
        with self.db.session() as session:
            session.add(
                AccessReviewMark(
                    organization=organization,
                    kind=kind,
                    target_id=target_id,
                    decision=decision,
                    decided_by=by,
                    decided_at=at,
                )
            )
