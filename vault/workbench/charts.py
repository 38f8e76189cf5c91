"""The numbers behind the workbench's charts, for one organisation.

Record reads of the last ``days`` (allowed and refused) counted per reading
organisation, per declared purpose and per role; break-glass grants opened
per month over the last ``months``. Only the organisation's events count
(``vault.audit.scope``). Purpose and role are read from the canonical events
(the bytes the chain hashes), so the page reads every read of the window once;
it is a page of its own, not part of every dashboard load.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from vault.audit.canonical import decode
from vault.audit.models import EVENTS
from vault.audit.scope import events_of
from vault.db import READ_ONLY_OPTION, Database
from vault.vocabulary import EventAction

__all__ = ["Bar", "ChartCounts", "chart_counts"]

CHUNK = 2000


@dataclass(frozen=True)
class Bar:
    """One row of a chart: a label and its allowed and refused counts."""

    label: str
    allowed: int
    denied: int


@dataclass(frozen=True)
class ChartCounts:
    since: datetime
    organizations: list[Bar]
    purposes: list[Bar]
    roles: list[Bar]
    break_glass: list[tuple[str, int]]  # ("2026-11", grants opened), oldest first

    @property
    def allowed(self) -> int:
        return sum(b.allowed for b in self.organizations)

    @property
    def denied(self) -> int:
        return sum(b.denied for b in self.organizations)


def _bars(counts: Counter[tuple[str, str]]) -> list[Bar]:
    labels = sorted({label for label, _ in counts})
    bars = [Bar(label, counts[(label, "allow")], counts[(label, "deny")]) for label in labels]
    return sorted(bars, key=lambda b: (-(b.allowed + b.denied), b.label))


def _months(now: datetime, months: int) -> list[str]:
    year, month = now.year, now.month
    found = []
    for _ in range(months):
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return found[::-1]


def chart_counts(
    db: Database, organization: str, now: datetime, days: int = 30, months: int = 12
) -> ChartCounts:
    since = now - timedelta(days=days)
    per_org: Counter[tuple[str, str]] = Counter()
    per_purpose: Counter[tuple[str, str]] = Counter()
    per_role: Counter[tuple[str, str]] = Counter()
    reader = db.engine.execution_options(**{READ_ONLY_OPTION: True})
    labels = _months(now, months)
    first = datetime(int(labels[0][:4]), int(labels[0][5:]), 1, tzinfo=UTC)
    with reader.connect() as conn:
        after = 0
        while True:
            rows = conn.execute(
                select(EVENTS.c.seq, EVENTS.c.canonical)
                .where(
                    events_of(organization),
                    EVENTS.c.action == EventAction.RECORD_READ.value,
                    EVENTS.c.time >= since,
                    EVENTS.c.seq > after,
                )
                .order_by(EVENTS.c.seq)
                .limit(CHUNK)
            ).all()
            for _, canonical in rows:
                event = decode(bytes(canonical))
                outcome = str(event.get("outcome"))
                per_org[(str(event.get("actor_org") or "-"), outcome)] += 1
                per_purpose[(str(event.get("purpose") or "-"), outcome)] += 1
                per_role[(str(event.get("actor_role") or "-"), outcome)] += 1
            if len(rows) < CHUNK:
                break
            after = int(rows[-1][0])
        opened = conn.execute(
            select(EVENTS.c.time).where(
                events_of(organization),
                EVENTS.c.action == EventAction.BREAK_GLASS_OPEN.value,
                EVENTS.c.outcome == "allow",
                EVENTS.c.time >= first,
            )
        ).scalars()
        per_month = Counter(f"{t.year:04d}-{t.month:02d}" for t in opened)
    return ChartCounts(
        since=since,
        organizations=_bars(per_org),
        purposes=_bars(per_purpose),
        roles=_bars(per_role),
        break_glass=[(label, per_month[label]) for label in labels],
    )
