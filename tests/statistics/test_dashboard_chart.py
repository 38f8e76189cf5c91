"""The outcome statistics as a chart on the dashboard: a suppressed cell is drawn as
suppressed and never with a number."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.statistics.statistics_support import consent, dashboard_as, outcome, subject
from tests.world import World
from vault.statistics.tables import Outcome, tabulate
from vault.web.statistics_chart import statistics_chart

LABELS = {
    "title": "Outcome statistics",
    "completion": "Program completed",
    "employment": "Employed at 6 months",
    "reoffending": "Re-offended within 12 months",
    "suppressed": "suppressed",
    "all": "all",
}
SVG = "{http://www.w3.org/2000/svg}"
DIGIT = re.compile(r"[0-9]")


def _suppressed_texts(svg: str) -> list[str]:
    """The words of every group drawn for a suppressed cell, its year label taken out."""
    root = ET.fromstring(svg)  # noqa: S314  (the vault's own markup, built by the test)
    out = []
    for group in root.iter(f"{SVG}g"):
        if "suppressed" not in group.get("class", "").split():
            continue
        texts = ["".join(node.itertext()) for node in group if node.tag == f"{SVG}text"]
        period = texts[-1]  # the year, or "all": a label, not a count
        words = " ".join("".join(group.itertext()).split()).replace(period, "")
        out.append(words)
    return out


def test_a_suppressed_cell_handed_numbers_still_shows_none() -> None:
    """A cell marked suppressed but carrying a count and rates (a caller's mistake) is drawn
    as suppressed: none of its numbers reach the markup; a released cell shows its rates."""
    cells = [
        {
            "program": "education",
            "period": "2025",
            "suppressed": True,
            "subjects": 3,
            "completed": 2,
            "completion_rate": 0.6667,
            "employment_6m_rate": 0.3333,
            "reoffending_12m_rate": 0.3333,
        },
        {
            "program": "vocational",
            "period": "*",
            "suppressed": False,
            "subjects": 9,
            "completed": 8,
            "employed_6m": 4,
            "reoffended_12m": 1,
            "completion_rate": 0.8889,
            "employment_6m_rate": 0.4444,
            "reoffending_12m_rate": 0.1111,
        },
    ]
    svg = statistics_chart(cells, LABELS)
    hidden = _suppressed_texts(svg)
    assert len(hidden) == 1
    assert "suppressed" in hidden[0]
    assert not DIGIT.search(hidden[0])
    assert "67 %" not in svg
    assert "33 %" not in svg
    assert "89 %" in svg


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["education", "vocational", "religious"]),
            st.sampled_from(["2023", "2024", "2025"]),
            st.booleans(),
            st.booleans(),
            st.booleans(),
        ),
        max_size=40,
    ),
    st.integers(min_value=2, max_value=6),
)
def test_no_suppressed_cell_of_any_population_renders_a_number(
    people: list[tuple[str, str, bool, bool, bool]], k: int
) -> None:
    """Over random populations, every cell the table suppresses is drawn as suppressed, and
    its group in the chart holds no digit beyond its year."""
    cells = tabulate([Outcome(*person) for person in people], k)
    svg = statistics_chart(cells, LABELS)
    hidden = _suppressed_texts(svg)
    assert len(hidden) == sum(1 for c in cells if c["suppressed"])
    for words in hidden:
        assert not DIGIT.search(words), words


def _population(world: World) -> None:
    """Six subjects in one program and two in another: the small cell and its complements
    are suppressed (k = 5)."""
    for n in range(8):
        subject_id = subject(world, n)
        consent(world, subject_id, ["counseling", "statistics"])
        outcome(world, subject_id, program="vocational" if n < 6 else "education")


def _rows(page: str) -> list[tuple[str, str]]:
    return re.findall(r'<tr class="(suppressed|released)">(.*?)</tr>', page, re.S)


def test_the_dashboard_draws_the_statistics_for_a_compliance_officer(world: World) -> None:
    """The compliance officer's statistics page holds the chart and the table; every
    suppressed row and chart group shows the word, never a number; the released grand
    total shows its count of eight."""
    _population(world)
    with dashboard_as(world, "compliance") as browser:
        response = browser.get("/dashboard/statistics")
    assert response.status_code == 200, response.text
    page = response.text
    svg = page[page.index("<svg") : page.index("</svg>") + len("</svg>")]
    hidden = _suppressed_texts(svg)
    rows = _rows(page)
    assert len(hidden) == sum(kind == "suppressed" for kind, _ in rows) >= 2
    assert all("suppressed" in words and not DIGIT.search(words) for words in hidden)
    assert {kind for kind, _ in rows} == {"suppressed", "released"}
    for kind, row in rows:
        cells: list[Any] = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        if kind == "suppressed":
            assert "suppressed" in cells[2]
            assert not DIGIT.search(cells[0] + cells[2])
    total = next(row for kind, row in rows if kind == "released" and row.count(">all<") == 2)
    assert "<td>8</td>" in total


def test_a_counselor_does_not_see_the_statistics_page(world: World) -> None:
    """A counselor cannot open the dashboard: the statistics page sends them to the login."""
    with dashboard_as(world, "counselor") as browser:
        response = browser.get("/dashboard/statistics", follow_redirects=False)
    assert response.status_code in (303, 403)
    assert "<svg" not in response.text
