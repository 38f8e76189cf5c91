"""One person's break-glass grants as the audit log and the grant rows together tell them.

The limits on opening a grant (one open grant per person and subject, no grant
while a block stands, at most ``break_glass_daily_cap`` in 24 hours) are read
from here, inside the serialised transaction that reserves the new grant
(``vault.access.service.AccessService.open_break_glass``).

A database writer can insert, change or delete grant rows, but not rewrite the
hash-chained audit log unseen. So each limit counts the union of both:

- a grant is one the audit log records as opened (``break_glass.open`` by the
  person), or a row of theirs the vault wrote (a reservation whose event is still
  being written); a row written by hand neither counts nor keeps anyone from
  opening a real grant;
- a grant is ended early only by a ``break_glass.review`` event with the verdict
  ``unjustified`` (a row's shortened expiry written back opens nothing);
- a block stands while the audit log holds an unjustified review of one of the
  person's grants later than the last ``break_glass.unblock`` naming the
  person. The ``block_lifted_at`` and ``outcome`` columns are kept for display;
  a lift or a verdict written into them by hand changes no limit.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlmodel import Session, col

from vault.access.models import BreakGlass, ReviewOutcome
from vault.audit.attesting import BREAK_GLASS_OPEN, BREAK_GLASS_REVIEW, subject_events
from vault.audit.canonical import decode_remembered, format_time, parse_time
from vault.audit.models import EVENTS
from vault.db import Database
from vault.errors import Conflict, Forbidden, RateLimited, VaultError
from vault.identity.models import User
from vault.vocabulary import EventAction

CAP_WINDOW = timedelta(hours=24)
BREAK_GLASS_UNBLOCK = EventAction.BREAK_GLASS_UNBLOCK.value
UNJUSTIFIED = ReviewOutcome.UNJUSTIFIED.value

# By the index (actor_id, action, time): the person's opened grants, all of them (a block
# outlives the grant's expiry).
_OPENED_BY = select(EVENTS.c.canonical).where(
    EVENTS.c.actor_id == bindparam("user_id"),
    EVENTS.c.action == BREAK_GLASS_OPEN,
    EVENTS.c.outcome == "allow",
)
# By the index (subject_id, action, seq): lifts name the person, not a subject.
_UNBLOCKS = select(EVENTS.c.canonical).where(
    EVENTS.c.subject_id.is_(None), EVENTS.c.action == BREAK_GLASS_UNBLOCK
)


@dataclass
class LedgerGrant:
    id: uuid.UUID
    subject_id: uuid.UUID
    opened_at: datetime
    expires_at: datetime
    attested: bool
    # The audit sequence number of an unjustified review of it, if any.
    unjustified_at_seq: int | None = None


@dataclass
class PersonLedger:
    grants: dict[uuid.UUID, LedgerGrant] = field(default_factory=dict)
    lifted_at_seq: int = 0  # the last break_glass.unblock naming the person

    def open_on(self, subject_id: uuid.UUID, now: datetime) -> LedgerGrant | None:
        """The person's grant on the subject that is still open, if any."""
        for grant in self.grants.values():
            ended = grant.unjustified_at_seq is not None
            if grant.subject_id == subject_id and grant.expires_at > now and not ended:
                return grant
        return None

    def blocking(self) -> list[uuid.UUID]:
        """The unjustified grants whose block no recorded lift covers."""
        lifted = self.lifted_at_seq
        found = {
            grant.id
            for grant in self.grants.values()
            if grant.unjustified_at_seq is not None and grant.unjustified_at_seq > lifted
        }
        return sorted(found)

    def opened_since(self, since: datetime) -> list[datetime]:
        """When each grant of the window was opened, oldest first."""
        return sorted(g.opened_at for g in self.grants.values() if g.opened_at > since)


def person_ledger(
    session: Session, user_id: uuid.UUID, genuine: Callable[[BreakGlass], bool]
) -> PersonLedger:
    """Everything the audit log and the rows say about the person's grants.

    ``genuine`` tells a row the vault wrote (its justification opens under the seal key,
    bound to its id) from one written by hand, which counts for nothing.
    """
    ledger = PersonLedger()
    for (canonical,) in session.execute(_OPENED_BY, {"user_id": user_id}).all():
        event = decode_remembered(bytes(canonical))
        target, subject = event.get("target_id"), event.get("subject_id")
        expires = (event.get("details") or {}).get("expires_at")
        if not target or not subject or not expires:
            continue
        grant_id = uuid.UUID(str(target))
        ledger.grants[grant_id] = LedgerGrant(
            id=grant_id,
            subject_id=uuid.UUID(str(subject)),
            opened_at=parse_time(str(event["time"])),
            expires_at=parse_time(str(expires)),
            attested=True,
        )
    for subject_id in {grant.subject_id for grant in ledger.grants.values()}:
        for event in subject_events(session, subject_id):
            if event.get("action") != BREAK_GLASS_REVIEW:
                continue
            details = event.get("details") or {}
            grant = ledger.grants.get(uuid.UUID(str(event.get("target_id"))))
            if grant is None or details.get("outcome") != UNJUSTIFIED:
                continue
            if details.get("grantee_id") == str(user_id):
                grant.unjustified_at_seq = int(event["seq"])
    for (canonical,) in session.execute(_UNBLOCKS).all():
        event = decode_remembered(bytes(canonical))
        if event.get("target_id") == str(user_id) and event.get("outcome") != "deny":
            ledger.lifted_at_seq = max(ledger.lifted_at_seq, int(event["seq"]))
    for row in session.execute(
        select(BreakGlass).where(col(BreakGlass.user_id) == user_id)
    ).scalars():
        if row.id not in ledger.grants and genuine(row):
            # A reservation whose event is on its way (or whose event was never written:
            # it still counts, which errs on the side of fewer grants).
            ledger.grants[row.id] = LedgerGrant(
                id=row.id,
                subject_id=row.subject_id,
                opened_at=row.created_at,
                expires_at=row.expires_at,
                attested=False,
            )
    return ledger


def limit_refusal(
    session: Session,
    user_id: uuid.UUID,
    subject_id: uuid.UUID,
    now: datetime,
    cap: int,
    genuine: Callable[[BreakGlass], bool],
) -> VaultError | None:
    """Why the person may not open a grant on the subject now, or None.

    Call it in the transaction that then reserves the grant, serialised (``reserve``):
    otherwise parallel requests all find room.
    """
    ledger = person_ledger(session, user_id, genuine)
    already = ledger.open_on(subject_id, now)
    if already is not None:
        return Conflict(
            "A break-glass grant of yours on this subject is still open "
            f"(until {format_time(already.expires_at)})."
        )
    if ledger.blocking():
        return Forbidden(
            "Break-glass is blocked for you after a grant was reviewed as unjustified, "
            "until a compliance officer of your organisation lifts the block."
        )
    opened = ledger.opened_since(now - CAP_WINDOW)
    if len(opened) >= cap:
        retry = opened[-cap] + CAP_WINDOW - now
        return RateLimited(
            f"At most {cap} break-glass grants per person in 24 hours.",
            retry_after=max(1, int(retry.total_seconds()) + 1),
        )
    return None


def _serialise_opening(db: Database, session: Session, user_id: uuid.UUID) -> None:
    """Make this transaction the only one opening a grant for the person until it ends:
    on PostgreSQL a lock on the person's account row; on SQLite the writing transaction
    holds the database's write lock from its start (BEGIN IMMEDIATE)."""
    if not db.is_sqlite:
        session.execute(select(col(User.id)).where(col(User.id) == user_id).with_for_update())


def reserve(
    db: Database, row: BreakGlass, now: datetime, cap: int, genuine: Callable[[BreakGlass], bool]
) -> VaultError | None:
    """Check the limits and insert the grant's row in one transaction that no other opening
    by the same person runs beside, in any process: the row is the reservation a parallel
    request counts. Returns why not (nothing written), or None (the row is in)."""
    with db.session() as session:
        _serialise_opening(db, session, row.user_id)
        refusal = limit_refusal(session, row.user_id, row.subject_id, now, cap, genuine)
        if refusal is None:
            session.add(row)
    return refusal
