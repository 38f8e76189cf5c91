"""Outcome tables: counts of consenting subjects by program and period, suppressed.

Pure: takes one outcome per subject and ``k``, returns what may be released
(``vault.statistics.suppression`` decides which entries). Rates share their
cell's suppression: a hidden cell shows no count and no rate, so no
numerator of a hidden cell can be recovered from the released ones either
(the numerators obey the same sums as the counts).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from vault.statistics.suppression import suppress

__all__ = ["MEASURES", "TOTAL", "Outcome", "csv_text", "tabulate"]

TOTAL = "*"
# Each measure: the outcome field and the answer that counts.
MEASURES = (
    ("completed", "completed", "completion_rate"),
    ("employed_6m", "employed_6m", "employment_6m_rate"),
    ("reoffended_12m", "reoffended_12m", "reoffending_12m_rate"),
)


@dataclass(frozen=True)
class Outcome:
    """One subject's latest program outcome (no identifier: counting needs none)."""

    program: str
    period: str
    completed: bool
    employed_6m: bool
    reoffended_12m: bool


def _grid(
    outcomes: Sequence[Outcome], programs: list[str], periods: list[str], measure: str | None
) -> list[list[int]]:
    grid = [[0] * len(periods) for _ in programs]
    row_of = {p: i for i, p in enumerate(programs)}
    col_of = {p: i for i, p in enumerate(periods)}
    for outcome in outcomes:
        if measure is None or getattr(outcome, measure):
            grid[row_of[outcome.program]][col_of[outcome.period]] += 1
    return grid


def _extended(grid: list[list[int]]) -> list[list[int]]:
    rows = [[*row, sum(row)] for row in grid]
    width = len(rows[0]) if rows else 1
    return [*rows, [sum(row[c] for row in rows) for c in range(width)]]


def tabulate(outcomes: Sequence[Outcome], k: int) -> list[dict[str, Any]]:
    """Every cell and total of the table: ``subjects`` and each measure's count and rate,
    or ``suppressed: true`` and nothing else."""
    programs = sorted({o.program for o in outcomes})
    periods = sorted({o.period for o in outcomes})
    if not outcomes:
        return [{"program": TOTAL, "period": TOTAL, "suppressed": True}]
    counts = _grid(outcomes, programs, periods, None)
    table = suppress(counts, k)
    numerators = {
        name: _extended(_grid(outcomes, programs, periods, name)) for name, _, _ in MEASURES
    }
    cells: list[dict[str, Any]] = []
    for r, program in enumerate([*programs, TOTAL]):
        for c, period in enumerate([*periods, TOTAL]):
            n = table.value((r, c))
            cell: dict[str, Any] = {"program": program, "period": period}
            if n is None:
                cell["suppressed"] = True
            else:
                cell["suppressed"] = False
                cell["subjects"] = n
                for name, count_key, rate_key in MEASURES:
                    count = numerators[name][r][c]
                    cell[count_key] = count
                    cell[rate_key] = round(count / n, 4)
            cells.append(cell)
    return cells


CSV_COLUMNS = [
    "program",
    "period",
    "suppressed",
    "subjects",
    *[key for _, count_key, rate_key in MEASURES for key in (count_key, rate_key)],
]


def csv_text(cells: Sequence[dict[str, Any]]) -> str:
    """The cells as CSV, one line per cell, a suppressed cell's numbers left empty."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for cell in cells:
        writer.writerow({key: cell.get(key, "") for key in CSV_COLUMNS})
    return out.getvalue()
