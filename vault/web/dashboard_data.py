"""What the compliance dashboard shows, read from the audit capability's tables.

Read-only: the chain is only ever appended to by ``AuditLog``. Queries here
filter on the indexed copy columns and show the canonical event document (the
bytes that were hashed), never anything else.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from vault.access.integrity import AccessMismatch, check_access_against_audit
from vault.access.service import BreakGlassView
from vault.audit.canonical import decode
from vault.audit.events import Outcome
from vault.audit.log import CHECKPOINTS, EVENTS
from vault.audit.queries import AuditFilters, AuditQueries
from vault.audit.verify import VerifyReport, verify_chain
from vault.consent.integrity import ConsentMismatch, check_consents_against_audit
from vault.services import Services
from vault.vocabulary import Principal
from vault.web.chart import DayCount

DECISIONS = ("allow", "deny")
CHART_DAYS = 14
PAGE_SIZE = 50


@dataclass(frozen=True)
class EventFilter:
    subject_id: uuid.UUID | None = None
    actor_id: uuid.UUID | None = None
    action: str | None = None
    decision: str | None = None
    since: date | None = None
    until: date | None = None

    def audit_filters(self) -> AuditFilters:
        return AuditFilters(
            subject_id=self.subject_id,
            actor_id=self.actor_id,
            action=self.action,
            decision=Outcome(self.decision) if self.decision else None,
            since=_start(self.since) if self.since else None,
            until=_start(self.until + timedelta(days=1)) if self.until else None,
        )

    def query_string(self) -> str:
        """The same filters as query parameters of the audit API (names of API.md)."""
        from urllib.parse import urlencode

        pairs = {
            "subject_id": self.subject_id,
            "actor_id": self.actor_id,
            "action": self.action,
            "decision": self.decision,
            "since": _start(self.since).isoformat() if self.since else None,
            "until": _start(self.until + timedelta(days=1)).isoformat() if self.until else None,
        }
        return urlencode({k: str(v) for k, v in pairs.items() if v is not None})


def _start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def accesses_per_day(services: Services, today: date, days: int = CHART_DAYS) -> list[DayCount]:
    """Allowed and denied decisions per UTC day over the last ``days`` days (today included)."""
    return [
        DayCount(c.day, c.allowed, c.denied)
        for c in AuditQueries(services.db).daily_counts(days, today)
    ]


def _filtered(flt: EventFilter) -> Any:
    query = select(EVENTS.c.seq, EVENTS.c.canonical)
    if flt.subject_id:
        query = query.where(EVENTS.c.subject_id == flt.subject_id)
    if flt.actor_id:
        query = query.where(EVENTS.c.actor_id == flt.actor_id)
    if flt.action:
        query = query.where(EVENTS.c.action == flt.action)
    if flt.decision:
        query = query.where(EVENTS.c.outcome == flt.decision)
    if flt.since:
        query = query.where(EVENTS.c.time >= _start(flt.since))
    if flt.until:
        query = query.where(EVENTS.c.time < _start(flt.until + timedelta(days=1)))
    return query


def events(services: Services, flt: EventFilter, limit: int = PAGE_SIZE) -> list[dict[str, Any]]:
    """The newest matching events, as their canonical documents."""
    query = _filtered(flt).order_by(EVENTS.c.seq.desc()).limit(limit)
    with services.db.read_session() as session:
        return [decode(bytes(canonical)) for _seq, canonical in session.execute(query)]


def iter_events(services: Services, flt: EventFilter) -> Iterator[dict[str, Any]]:
    """Every matching event in chain order, streamed by the audit capability (for exports)."""
    return AuditQueries(services.db).iter_events(flt.audit_filters())


def break_glass_awaiting_review(services: Services, officer: Principal) -> list[BreakGlassView]:
    """Break-glass grants not reviewed yet, oldest first (the listing itself is audited)."""
    return services.access.break_glass_grants(officer, pending=True)


@dataclass(frozen=True)
class ChainStatus:
    report: VerifyReport
    last_checkpoint_seq: int | None
    last_checkpoint_time: datetime | None


def consent_mismatches(services: Services) -> list[ConsentMismatch]:
    """Consents whose rows contradict the audit log (reads already refuse their grants)."""
    return check_consents_against_audit(services.db)


def access_mismatches(services: Services) -> list[AccessMismatch]:
    """Assignments and break-glass grants the audit log does not attest (decisions ignore them)."""
    return check_access_against_audit(services.db, services.clock())


def chain_status(services: Services) -> ChainStatus:
    """Verify the whole chain against the published signing key, and name the newest checkpoint."""
    signer = getattr(services, "signer", None)
    keys = signer.verification_keys() if signer is not None else []
    report = verify_chain(services.db.engine, public_keys=keys)
    query = (
        select(CHECKPOINTS.c.seq, CHECKPOINTS.c.time).order_by(CHECKPOINTS.c.seq.desc()).limit(1)
    )
    with services.db.read_session() as session:
        last = session.execute(query).first()
    return ChainStatus(
        report=report,
        last_checkpoint_seq=int(last[0]) if last else None,
        last_checkpoint_time=last[1] if last else None,
    )
