"""What the compliance dashboard shows, always for one organisation.

Read-only: the chain is only ever appended to by ``AuditLog``. Events are the
canonical documents (the bytes that were hashed) of the events that belong to
the viewer's organisation (``vault.audit.scope``); the break-glass panels and
the integrity checks name only that organisation's subjects and staff. The chain's
status is the newest recorded verification of the whole chain (counts and a
sequence number: nothing of another organisation's events).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select

from vault.access.integrity import AccessMismatch, check_access_against_audit
from vault.access.service import AccessService, BreakGlassView
from vault.audit.cosign import WitnessShortfall, witness_keys, witness_shortfall
from vault.audit.events import Outcome
from vault.audit.log import AuditLog
from vault.audit.models import CHECKPOINTS
from vault.audit.queries import AuditFilters, AuditQueries
from vault.audit.scope import consents_of, held_subjects, members
from vault.config import Settings
from vault.consent.integrity import ConsentMismatch, check_consents_against_audit
from vault.db import Database
from vault.vocabulary import Principal
from vault.web.chart import DayCount
from vault.web.dashboard_names import LastVerification, last_verification
from vault.workbench.day_counts import daily, refresh

DECISIONS = ("allow", "deny")
CHART_DAYS = 14
PAGE_SIZE = 50


def _start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _end(day: date) -> datetime | None:
    """The exclusive end of a day; None for the last day there is (no upper bound)."""
    if day == date.max:
        return None
    return _start(day + timedelta(days=1))


@dataclass(frozen=True)
class EventFilter:
    subject_id: uuid.UUID | None = None
    actor_id: uuid.UUID | None = None
    action: str | None = None
    decision: str | None = None
    since: date | None = None
    until: date | None = None

    def audit_filters(self, organization: str, limit: int = PAGE_SIZE) -> AuditFilters:
        return AuditFilters(
            organization=organization,
            subject_id=self.subject_id,
            actor_id=self.actor_id,
            action=self.action,
            decision=Outcome(self.decision) if self.decision else None,
            since=_start(self.since) if self.since else None,
            until=_end(self.until) if self.until else None,
            limit=limit,
        )

    def query_string(self) -> str:
        """The same filters as query parameters of the audit API (names of API.md)."""
        until = _end(self.until) if self.until else None
        pairs = {
            "subject_id": self.subject_id,
            "actor_id": self.actor_id,
            "action": self.action,
            "decision": self.decision,
            "since": _start(self.since).isoformat() if self.since else None,
            "until": until.isoformat() if until else None,
        }
        return urlencode({k: str(v) for k, v in pairs.items() if v is not None})


def accesses_per_day(
    db: Database, organization: str, today: date, days: int = CHART_DAYS
) -> list[DayCount]:
    """The organisation's allowed and denied decisions per UTC day (today included).

    Read from the per-day counts kept from a cursor (``vault.workbench.day_counts``),
    not from the events of the window.
    """
    first = today - timedelta(days=days - 1)
    refresh(db, organization)
    counts = daily(db, organization, "decision", first)
    return [
        DayCount(day, counts[(day, "", "allow")], counts[(day, "", "deny")])
        for day in (first + timedelta(days=n) for n in range(days))
    ]


def events(db: Database, organization: str, flt: EventFilter) -> list[dict[str, Any]]:
    """The organisation's newest matching events, as their canonical documents."""
    return AuditQueries(db).newest(flt.audit_filters(organization))


def iter_events(db: Database, organization: str, flt: EventFilter) -> Iterator[dict[str, Any]]:
    """Every matching event of the organisation in chain order (for exports)."""
    return AuditQueries(db).iter_events(flt.audit_filters(organization))


def break_glass_awaiting_review(
    access: AccessService, db: Database, officer: Principal
) -> list[BreakGlassView]:
    """Grants not reviewed yet about the organisation's subjects or opened by its staff.

    The listing itself is audited by the access capability.
    """
    grants = access.break_glass_grants(officer, pending=True)
    organization = officer.organization
    subjects = held_subjects(db, organization, {g.subject_id for g in grants})
    staff = members(db, organization, {g.user_id for g in grants})
    return [g for g in grants if g.subject_id in subjects or g.user_id in staff]


@dataclass(frozen=True)
class ChainStatus:
    """The newest recorded verification (None if the chain was never verified) and checkpoint."""

    last: LastVerification | None
    last_checkpoint_seq: int | None
    last_checkpoint_time: datetime | None


def consent_mismatches(db: Database, organization: str) -> list[ConsentMismatch]:
    """The organisation's consents whose rows contradict the audit log."""
    found = check_consents_against_audit(db, organization)
    ours = consents_of(db, organization, {m.consent_id for m in found})
    return [m for m in found if m.consent_id in ours]


def access_mismatches(db: Database, organization: str, now: datetime) -> list[AccessMismatch]:
    """Assignments and grants about the organisation's subjects the log does not attest."""
    return check_access_against_audit(db, now, held_by=organization)


def witness_gap(audit: AuditLog, settings: Settings, now: datetime) -> WitnessShortfall | None:
    """The head whose required witnesses' cosignatures did not arrive in time, if any."""
    keeper = audit.heads()
    if keeper is None or not settings.audit_witness_quorum:
        return None
    return witness_shortfall(
        audit.engine,
        keeper.note_signer(),
        now,
        witnesses=witness_keys(settings.audit_witness_keys),
        quorum=settings.audit_witness_quorum,
        witness_seconds=settings.audit_witness_seconds,
    )


def chain_status(db: Database) -> ChainStatus:
    """The newest stored verification result and checkpoint: no page load re-verifies the chain.

    There is no incremental verification in ``vault.audit.verify`` yet, so the
    page shows what the last full run recorded (``vault audit verify``, or the
    dashboard's "verify now" button) rather than running one per request.
    """
    query = (
        select(CHECKPOINTS.c.seq, CHECKPOINTS.c.time).order_by(CHECKPOINTS.c.seq.desc()).limit(1)
    )
    with db.read_session() as session:
        last = session.execute(query).first()
    return ChainStatus(
        last=last_verification(db),
        last_checkpoint_seq=int(last[0]) if last else None,
        last_checkpoint_time=last[1] if last else None,
    )
