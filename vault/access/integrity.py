"""Care-team rows and emergency grants that the audit log does not attest.

Decisions already ignore them (``vault.access.facts``, logged as critical on the
request that meets one); this lists them all, for the compliance dashboard and
``GET /v1/audit/access-check``, so that someone goes looking for who wrote them.

The events that attest the rows are kept between checks, per subject, with the
sequence number up to which they were read (``_Attestations``): a check reads
the rows (always fresh) and only the access events appended since the last one,
instead of every subject's events again (77 ms of each dashboard load at 10
million events). Decisions never use what is kept; they read the log each time.
What is kept is never less strict than a fresh read, but for one case: an event
it saw that was later deleted or altered, which breaks the hash chain, and
that is what ``vault audit verify`` reports. A log rewound (restored from a
backup, its newest event no longer the one seen) drops everything kept.
"""

from __future__ import annotations

import threading
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from sqlalchemy import bindparam, literal_column, select
from sqlalchemy.orm import Session
from sqlmodel import col

from vault.access.facts import AccessEvents
from vault.access.models import Assignment, BreakGlass
from vault.audit.attesting import ACCESS_ACTIONS
from vault.audit.canonical import decode_remembered
from vault.audit.models import EVENTS
from vault.db import Database
from vault.subjects.models import Subject

# Subjects whose events are kept per database: an organisation has hundreds to a few
# thousand; the national check (every subject with an active row) goes past it and
# then costs what a fresh read does for the rest, never more memory.
KEPT_SUBJECTS = 20_000

_NEWEST = select(EVENTS.c.seq, EVENTS.c.hash).order_by(EVENTS.c.seq.desc()).limit(1)
_HASH_AT = select(EVENTS.c.hash).where(EVENTS.c.seq == bindparam("seq"))
# By the index (action, seq): only the access actions appended since the mark.
_APPENDED = (
    select(EVENTS.c.subject_id, EVENTS.c.canonical)
    .where(EVENTS.c.action.in_([literal_column(f"'{action}'") for action in ACCESS_ACTIONS]))
    .where(EVENTS.c.seq > bindparam("after"))
    .where(EVENTS.c.seq <= bindparam("upto"))
)


@dataclass(frozen=True)
class AccessMismatch:
    kind: str  # "assignment" or "break_glass"
    row_id: uuid.UUID
    subject_id: uuid.UUID
    problem: str


class _Attestations:
    """The access events of recently checked subjects, read up to ``mark``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.mark = 0  # every kept subject's events with seq <= mark are folded in
        self.mark_hash: bytes | None = None  # the event at mark, to notice a rewound log
        self.subjects: OrderedDict[uuid.UUID, AccessEvents] = OrderedDict()

    def catch_up(self, session: Session) -> None:
        """Fold in the access events appended since ``mark`` (all of them: one query)."""
        newest = session.execute(_NEWEST).first()
        if newest is None:
            self._forget()
            return
        top, top_hash = int(newest[0]), bytes(newest[1])
        if self.mark and not self._mark_still_there(session, top):
            self._forget()
        if self.subjects and top > self.mark:
            rows = session.execute(_APPENDED, {"after": self.mark, "upto": top})
            for subject_id, canonical in rows:
                kept = self.subjects.get(uuid.UUID(str(subject_id))) if subject_id else None
                if kept is not None:
                    kept.fold(decode_remembered(bytes(canonical)))
        self.mark, self.mark_hash = top, top_hash

    def _mark_still_there(self, session: Session, top: int) -> bool:
        if top < self.mark:
            return False
        found = session.execute(_HASH_AT, {"seq": self.mark}).first()
        return found is not None and bytes(found[0]) == self.mark_hash

    def _forget(self) -> None:
        self.subjects.clear()
        self.mark, self.mark_hash = 0, None

    def problem(
        self,
        session: Session,
        subject_id: uuid.UUID,
        check: Callable[[AccessEvents], str | None],
    ) -> str | None:
        """What ``check`` finds wrong with a row by the subject's events; a problem by the
        kept events is confirmed on events read now (the row may be newer than the mark)."""
        if check(self.of(session, subject_id)) is None:
            return None
        self.subjects.pop(subject_id, None)
        return check(self.of(session, subject_id))

    def of(self, session: Session, subject_id: uuid.UUID) -> AccessEvents:
        """The subject's access events: kept ones, or read now (and kept)."""
        kept = self.subjects.get(subject_id)
        if kept is not None:
            self.subjects.move_to_end(subject_id)
            return kept
        # Read after catch_up: it may hold events past mark, which the next catch_up
        # folds in again, harmlessly.
        fresh = AccessEvents.of_subject(session, subject_id)
        self.subjects[subject_id] = fresh
        while len(self.subjects) > KEPT_SUBJECTS:
            self.subjects.popitem(last=False)
        return fresh


_KEPT: weakref.WeakKeyDictionary[Database, _Attestations] = weakref.WeakKeyDictionary()
_KEPT_LOCK = threading.Lock()


def _attestations(db: Database) -> _Attestations:
    with _KEPT_LOCK:
        kept = _KEPT.get(db)
        if kept is None:
            kept = _KEPT[db] = _Attestations()
        return kept


def check_access_against_audit(
    db: Database, now: datetime, held_by: str | None = None
) -> list[AccessMismatch]:
    """Active assignments and unexpired break-glass grants the audit log does not attest
    (only those about subjects ``held_by`` holds, when it is given: the dashboard's
    organisation, whose check then costs its own subjects, not the whole vault's)."""
    held = select(col(Subject.id)).where(col(Subject.organization) == held_by)
    assignments_query = select(
        col(Assignment.id), col(Assignment.user_id), col(Assignment.subject_id)
    ).where(col(Assignment.ended_at).is_(None))
    grants_query = select(
        col(BreakGlass.id),
        col(BreakGlass.user_id),
        col(BreakGlass.subject_id),
        col(BreakGlass.expires_at),
    ).where(col(BreakGlass.expires_at) > now)
    if held_by is not None:
        assignments_query = assignments_query.where(col(Assignment.subject_id).in_(held))
        grants_query = grants_query.where(col(BreakGlass.subject_id).in_(held))
    attestations = _attestations(db)
    with db.read_session() as session, attestations.lock:
        # The log's position first, then the rows: a row written after it was read
        # is met with its event read fresh or folded in by the next check.
        attestations.catch_up(session)
        assignments = session.execute(assignments_query).all()
        grants = session.execute(grants_query).all()
        return list(_mismatches(session, attestations, assignments, grants))


def _mismatches(
    session: Session,
    attestations: _Attestations,
    assignments: Iterable[tuple[uuid.UUID, uuid.UUID, uuid.UUID]],
    grants: Iterable[tuple[uuid.UUID, uuid.UUID, uuid.UUID, datetime]],
) -> Iterable[AccessMismatch]:
    for row_id, user_id, subject_id in assignments:
        check = partial(AccessEvents.assignment_problem, assignment_id=row_id, user_id=user_id)
        problem = attestations.problem(session, subject_id, check)
        if problem is not None:
            yield AccessMismatch("assignment", row_id, subject_id, problem)
    for row_id, user_id, subject_id, expires_at in grants:
        check = partial(
            AccessEvents.grant_problem, grant_id=row_id, user_id=user_id, expires_at=expires_at
        )
        problem = attestations.problem(session, subject_id, check)
        if problem is not None:
            yield AccessMismatch("break_glass", row_id, subject_id, problem)
