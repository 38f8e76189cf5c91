"""The numbers behind the workbench's charts, for one organisation.

Record reads of the last ``days`` UTC days, today included (allowed and
refused), counted per reading organisation, per declared purpose and per role;
break-glass grants opened per month over the last ``months``. Only the
organisation's events count (``vault.audit.scope``). Opening the page reads the
per-day counts ``vault.workbench.day_counts`` keeps up to date from a cursor,
never the raw events of the window.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from vault.db import Database
from vault.workbench.day_counts import daily, refresh, totals

__all__ = ["Bar", "ChartCounts", "chart_counts"]


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


def _bars(counts: Counter[tuple[str, str, str]], kind: str) -> list[Bar]:
    per = {(label, outcome): n for (k, label, outcome), n in counts.items() if k == kind}
    labels = sorted({label for label, _ in per})
    bars = [
        Bar(label, per.get((label, "allow"), 0), per.get((label, "deny"), 0)) for label in labels
    ]
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
    today = now.astimezone(UTC).date()
    first_day = today - timedelta(days=days - 1)
    labels = _months(now, months)
    first_month = date(int(labels[0][:4]), int(labels[0][5:]), 1)
    refresh(db, organization)
    window = totals(db, organization, first_day, today)
    per_month: Counter[str] = Counter()
    for (day, _, _), n in daily(db, organization, "glass", first_month).items():
        per_month[f"{day.year:04d}-{day.month:02d}"] += n
    return ChartCounts(
        since=datetime.combine(first_day, datetime.min.time(), tzinfo=UTC),
        organizations=_bars(window, "org"),
        purposes=_bars(window, "purpose"),
        roles=_bars(window, "role"),
        break_glass=[(label, per_month[label]) for label in labels],
    )
