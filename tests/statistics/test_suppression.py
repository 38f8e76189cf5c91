"""Small-cell suppression: no released entry under k, no suppressed entry recoverable."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from vault.statistics.suppression import Entry, constraints, suppress


def _rank(rows: list[list[Fraction]]) -> int:
    """The rank of a matrix by plain Gaussian elimination (independent of the module's)."""
    matrix = [row[:] for row in rows if any(row)]
    rank = 0
    width = len(matrix[0]) if matrix else 0
    for col in range(width):
        pivot = next((i for i in range(rank, len(matrix)) if matrix[i][col] != 0), None)
        if pivot is None:
            continue
        matrix[rank], matrix[pivot] = matrix[pivot], matrix[rank]
        for i in range(rank + 1, len(matrix)):
            factor = matrix[i][col] / matrix[rank][col]
            matrix[i] = [a - factor * b for a, b in zip(matrix[i], matrix[rank], strict=True)]
        rank += 1
    return rank


def _recoverable(n_rows: int, n_cols: int, hidden: list[Entry], entry: Entry) -> bool:
    """Whether the released entries and the table's sums fix ``entry``: its unit vector lies
    in the row space of the relations restricted to the hidden entries."""
    index = {e: i for i, e in enumerate(hidden)}
    matrix = []
    for relation in constraints(n_rows, n_cols):
        row = [Fraction(0)] * len(hidden)
        for e, coefficient in relation.items():
            if e in index:
                row[index[e]] = Fraction(coefficient)
        matrix.append(row)
    unit = [Fraction(1 if e == entry else 0) for e in hidden]
    return _rank([*matrix, unit]) == _rank(matrix)


tables = st.integers(1, 5).flatmap(
    lambda rows: st.integers(1, 5).flatmap(
        lambda cols: st.lists(
            st.lists(st.integers(0, 30), min_size=cols, max_size=cols),
            min_size=rows,
            max_size=rows,
        )
    )
)


@settings(max_examples=300, deadline=None)
@given(cells=tables, k=st.integers(2, 11))
def test_no_released_entry_under_k_and_no_hidden_entry_recoverable(
    cells: list[list[int]], k: int
) -> None:
    """Over random tables, every released entry (cell or total) counts at least k, and
    no suppressed entry is fixed by the released entries and the row and column sums."""
    table = suppress(cells, k)
    n_rows, n_cols = len(cells), len(cells[0])
    entries = [(r, c) for r in range(n_rows + 1) for c in range(n_cols + 1)]
    for entry in table.released:
        assert table.values[entry[0]][entry[1]] >= k
    hidden = [e for e in entries if e not in table.released]
    for entry in hidden:
        assert not _recoverable(n_rows, n_cols, hidden, entry), (cells, k, entry)


def test_a_single_small_cell_takes_three_others_with_it() -> None:
    """One small cell in a table of large ones hides a rectangle: its row and column
    partners and the cell opposite, so subtraction from the totals gives nothing."""
    table = suppress([[10, 2, 7], [8, 9, 12], [6, 6, 6]], 5)
    hidden = {(r, c) for r in range(4) for c in range(4)} - table.released
    assert (0, 1) in hidden
    assert len(hidden) == 4
    assert table.value((3, 3)) == 66


def test_a_lone_hidden_cell_would_be_recovered_by_subtraction() -> None:
    """The check itself: hiding only the small cell leaves it recoverable from its row."""
    assert _recoverable(3, 3, [(0, 1)], (0, 1))
