"""Small-cell suppression of a two-way table of counts, with complementary suppression.

The table has rows (programs) and columns (periods) of counts of distinct
subjects, with row totals, column totals and the grand total. Each is one
*entry* of an extended (R+1) x (C+1) table whose last row and column hold
the totals. What is released must let no one learn a suppressed entry:

1. Primary: every entry under ``k`` (zero included) is suppressed.
2. Complementary: the released entries and the additive relations of the
   table (each row sums to its total, each column to its total, the totals
   to the grand total) form a linear system; a suppressed entry that the
   system determines uniquely could be recovered by subtraction. While one
   is, more is suppressed: one released entry of its row or column, or the
   other corners of a rectangle through it, whichever leaves the fewest
   entries determined and hides the least. The loop ends: with everything suppressed nothing is
   determined (any consistent table scaled is consistent).

Pure Python, exact arithmetic (``fractions.Fraction``); tables here have at
most a few hundred entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

__all__ = ["Entry", "SuppressedTable", "constraints", "determined", "suppress"]

Entry = tuple[int, int]  # (row, column) in the extended table; R and C index the totals


@dataclass(frozen=True)
class SuppressedTable:
    """The extended table and which entries may be released."""

    values: tuple[tuple[int, ...], ...]  # (R+1) x (C+1), totals last
    released: frozenset[Entry]

    def value(self, entry: Entry) -> int | None:
        """The entry's count if released, else None."""
        return self.values[entry[0]][entry[1]] if entry in self.released else None


def extend(cells: Sequence[Sequence[int]]) -> tuple[tuple[int, ...], ...]:
    """The table with its row totals, column totals and grand total appended."""
    rows = [[*list(row), sum(row)] for row in cells]
    width = len(rows[0]) if rows else 1
    rows.append([sum(row[c] for row in rows) for c in range(width)])
    return tuple(tuple(row) for row in rows)


def constraints(n_rows: int, n_cols: int) -> list[dict[Entry, int]]:
    """The additive relations of an extended table of ``n_rows`` x ``n_cols`` inner cells,
    each as coefficients of entries summing to zero."""
    relations: list[dict[Entry, int]] = []
    for r in range(n_rows + 1):
        relation = {(r, c): 1 for c in range(n_cols)}
        relation[(r, n_cols)] = -1
        relations.append(relation)
    for c in range(n_cols + 1):
        relation = {(r, c): 1 for r in range(n_rows)}
        relation[(n_rows, c)] = -1
        relations.append(relation)
    return relations


def _rref(matrix: list[list[Fraction]]) -> list[list[Fraction]]:
    rows = [row[:] for row in matrix]
    width = len(rows[0]) if rows else 0
    pivot_row = 0
    for col in range(width):
        pivot = next((i for i in range(pivot_row, len(rows)) if rows[i][col] != 0), None)
        if pivot is None:
            continue
        rows[pivot_row], rows[pivot] = rows[pivot], rows[pivot_row]
        lead = rows[pivot_row][col]
        rows[pivot_row] = [v / lead for v in rows[pivot_row]]
        for i in range(len(rows)):
            if i != pivot_row and rows[i][col] != 0:
                factor = rows[i][col]
                rows[i] = [a - factor * b for a, b in zip(rows[i], rows[pivot_row], strict=True)]
        pivot_row += 1
    return rows[:pivot_row]


def determined(n_rows: int, n_cols: int, unknown: Sequence[Entry]) -> set[Entry]:
    """The unknown entries that the table's relations fix once every other entry is known.

    An unknown is fixed exactly when the reduced system of the unknowns has a
    row naming that unknown alone.
    """
    if not unknown:
        return set()
    index = {entry: i for i, entry in enumerate(unknown)}
    matrix = []
    for relation in constraints(n_rows, n_cols):
        row = [Fraction(0)] * len(unknown)
        for entry, coefficient in relation.items():
            if entry in index:
                row[index[entry]] = Fraction(coefficient)
        if any(row):
            matrix.append(row)
    found: set[Entry] = set()
    for row in _rref(matrix):
        nonzero = [i for i, v in enumerate(row) if v != 0]
        if len(nonzero) == 1:
            found.add(unknown[nonzero[0]])
    return found


def _cheapest_cover(
    n_rows: int,
    n_cols: int,
    values: tuple[tuple[int, ...], ...],
    hidden: set[Entry],
    released: list[Entry],
    target: Entry,
) -> set[Entry]:
    """What to hide next for a determined ``target``: one released entry of its row or
    column, or the three other corners of a rectangle through it (a cycle, so the target
    can move without changing any sum). The choice leaving the fewest entries determined
    wins, then the one hiding the least count."""
    r, c = target
    candidates = [{e} for e in released if e[0] == r or e[1] == c] or [{e} for e in released]
    for r2 in range(n_rows + 1):
        for c2 in range(n_cols + 1):
            if r2 != r and c2 != c:
                corners = {(r, c2), (r2, c), (r2, c2)} - hidden
                if corners:
                    candidates.append(corners)

    def cost(extra: set[Entry]) -> tuple[int, int, int, list[Entry]]:
        left = len(determined(n_rows, n_cols, sorted(hidden | extra)))
        return (left, sum(values[e[0]][e[1]] for e in extra), len(extra), sorted(extra))

    return min(candidates, key=cost)


def suppress(cells: Sequence[Sequence[int]], k: int) -> SuppressedTable:
    """Release what may be released of ``cells`` (rows x columns of counts), see the module."""
    if k < 1:
        raise ValueError("k must be at least 1")
    n_rows = len(cells)
    n_cols = len(cells[0]) if cells else 0
    if any(len(row) != n_cols for row in cells):
        raise ValueError("every row has as many cells as the first")
    values = extend(cells) if n_rows else ((0,),)
    entries = [(r, c) for r in range(n_rows + 1) for c in range(n_cols + 1)]
    hidden = {entry for entry in entries if values[entry[0]][entry[1]] < k}
    while True:
        exposed = determined(n_rows, n_cols, sorted(hidden))
        if not exposed:
            break
        target = min(exposed)
        released = [e for e in entries if e not in hidden]
        if not released:  # every entry hidden already; nothing can be determined then
            break
        hidden |= _cheapest_cover(n_rows, n_cols, values, hidden, released, target)
    return SuppressedTable(values, frozenset(e for e in entries if e not in hidden))
