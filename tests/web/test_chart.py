"""``vault.web.chart``: the accesses-per-day chart, drawn from numbers and escaped text."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date

from vault.web.chart import DayCount, _nice_max, access_chart


def _chart(days: list[DayCount], **labels: str) -> str:
    names = {"allowed_label": "allowed", "denied_label": "denied", "title": "Accesses"}
    return access_chart(days, **(names | labels))


def test_labels_and_title_are_escaped() -> None:
    """A label carrying markup is shown as text: no element or script gets into the page."""
    svg = _chart(
        [DayCount(date(2026, 2, 1), 3, 1)],
        title="<script>alert(1)</script>",
        denied_label='x" onload="alert(1)',
    )
    assert "<script>" not in svg
    assert 'onload="' not in svg
    ET.fromstring(svg)  # noqa: S314  # markup the test itself made: still well-formed


def test_each_day_has_an_allowed_and_a_denied_bar_with_its_count() -> None:
    """Two bars a day, each titled with the date and its count (not colour alone)."""
    days = [DayCount(date(2026, 2, 1), 3, 1), DayCount(date(2026, 2, 2), 0, 7)]
    svg = _chart(days)
    titles = re.findall(r"<rect [^>]*><title>([^<]*)</title></rect>", svg)
    assert titles == [
        "2026-02-01: 3 allowed",
        "2026-02-01: 1 denied",
        "2026-02-02: 0 allowed",
        "2026-02-02: 7 denied",
    ]
    assert svg.count('fill="url(#hatch)"') == 3  # two denied bars and the legend


def test_tallest_bar_fits_inside_the_plot() -> None:
    """The peak day's bar reaches at most the top gridline."""
    svg = _chart([DayCount(date(2026, 2, 1), 37, 0)])
    heights = [
        float(h)
        for h in re.findall(
            r'<rect x="[^"]+" y="[^"]+" width="[^"]+" '
            r'height="([0-9.]+)" fill="#0b4f8a"',
            svg,
        )
    ]
    assert heights
    assert max(heights) <= 300 - 16 - 56


def test_gridline_top_is_a_round_number_above_the_peak() -> None:
    """The axis tops out at four whole steps at or above the busiest day."""
    assert _nice_max(0) == 4
    assert _nice_max(4) == 4
    assert _nice_max(5) == 8
    assert _nice_max(37) == 40
    assert _nice_max(999) == 1000
    assert _nice_max(10**6) == 10**6


def test_no_days_still_draws_an_empty_chart() -> None:
    """A period with no access draws axes and legend, not an error."""
    root = ET.fromstring(_chart([]))  # noqa: S314  # markup the test itself made
    assert root.tag == "svg"
    assert root.findtext("title") == "Accesses"
    assert len(root.findall("line")) == 5  # the gridlines
