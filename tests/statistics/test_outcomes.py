"""Outcome statistics over the vault: only consenting subjects count, suppressed below k."""

from __future__ import annotations

import csv
import io
from typing import Any

from tests.statistics.statistics_support import consent as _consent
from tests.statistics.statistics_support import outcome as _outcome
from tests.statistics.statistics_support import subject as _subject
from tests.world import World


def _table(world: World) -> dict[str, Any]:
    response = world.client.get("/v1/statistics/outcomes", headers=world.auth("compliance"))
    assert response.status_code == 200, response.text
    return dict(response.json())


def _grand_total(world: World) -> Any:
    cells = _table(world)["cells"]
    total = next(c for c in cells if c["program"] == "*" and c["period"] == "*")
    return None if total["suppressed"] else total["subjects"]


def test_only_consenting_subjects_are_counted_and_withdrawal_removes_one(world: World) -> None:
    """Five subjects who consented to statistics are counted; a sixth who never consented
    is not; when one of the five withdraws, the next computation has four, which is
    under k and suppressed."""
    consents = []
    for n in range(5):
        subject_id = _subject(world, n)
        consents.append(_consent(world, subject_id, ["counseling", "statistics"]))
        _outcome(world, subject_id)
    never = _subject(world, 99)
    _consent(world, never, ["counseling"])
    _outcome(world, never)
    assert _grand_total(world) == 5
    cells = _table(world)["cells"]
    vocational = next(c for c in cells if c["program"] == "vocational" and c["period"] == "2025")
    assert vocational["completion_rate"] == 1.0
    world.post("officer", f"/v1/consents/{consents[0]}/withdraw", {})
    assert _grand_total(world) is None


def test_a_small_cell_is_suppressed_with_its_complement(world: World) -> None:
    """Six subjects in one program and two in another (k = 5): the small cell is hidden, and
    so is every entry that would give it away by subtraction (its row total, and the
    other cell of its column), over the API and in the CSV."""
    for n in range(8):
        subject_id = _subject(world, n)
        _consent(world, subject_id, ["counseling", "statistics"])
        _outcome(world, subject_id, program="vocational" if n < 6 else "education")
    cells = {(c["program"], c["period"]): c for c in _table(world)["cells"]}
    assert cells[("education", "2025")]["suppressed"]
    assert cells[("education", "*")]["suppressed"]
    assert cells[("vocational", "2025")]["suppressed"]
    for cell in cells.values():
        assert cell["suppressed"] or cell["subjects"] >= 5
    response = world.client.get("/v1/statistics/outcomes.csv", headers=world.auth("compliance"))
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    education = next(r for r in rows if r["program"] == "education" and r["period"] == "2025")
    assert education["subjects"] == ""
    assert education["suppressed"] == "True"


def test_statistics_are_for_compliance_officers(world: World) -> None:
    """A counselor (who reads records) is refused the statistics: 403."""
    response = world.client.get("/v1/statistics/outcomes", headers=world.auth("counselor"))
    assert response.status_code == 403
