"""The outcome statistics as a bar chart, drawn as SVG on the server.

One group of three bars per released cell of the k-anonymous table
(``vault.statistics``): completion, employment at 6 months and re-offending
within 12 months, as rates from 0 to 100 %. A suppressed cell is drawn as a
hatched grey box labelled "suppressed": it shows no count and no rate, even if
a caller handed it one (only ``suppressed: false`` cells are read for numbers).
No script and no library; every text is escaped; bars differ by pattern as
well as colour, and each has a <title>, so the chart does not rely on colour.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

__all__ = ["statistics_chart"]

HEIGHT = 340
LEFT = 56
TOP = 16
BOTTOM = 88
GROUP = 84
MIN_WIDTH = 760
TOTAL = "*"
# Each bar: the rate's key in a released cell, its fill, and its legend key.
BARS = (
    ("completion_rate", "#0b4f8a", "completion"),
    ("employment_6m_rate", "url(#dots)", "employment"),
    ("reoffending_12m_rate", "url(#stripes)", "reoffending"),
)
DEFS = (
    "<defs>"
    '<pattern id="dots" width="6" height="6" patternUnits="userSpaceOnUse">'
    '<rect width="6" height="6" fill="#1d6b3a"/><circle cx="3" cy="3" r="1.4" fill="#ffffff"/>'
    "</pattern>"
    '<pattern id="stripes" width="6" height="6" patternUnits="userSpaceOnUse" '
    'patternTransform="rotate(45)"><rect width="6" height="6" fill="#8a1c1c"/>'
    '<line x1="0" y1="0" x2="0" y2="6" stroke="#ffffff" stroke-width="2"/></pattern>'
    '<pattern id="hidden" width="8" height="8" patternUnits="userSpaceOnUse" '
    'patternTransform="rotate(45)"><rect width="8" height="8" fill="#e4e4e4"/>'
    '<line x1="0" y1="0" x2="0" y2="8" stroke="#9a9a9a" stroke-width="2"/></pattern>'
    "</defs>"
)


def _name(value: object, everything: str) -> str:
    text = str(value)
    return everything if text == TOTAL else text


def _rate(cell: Mapping[str, Any], key: str) -> float:
    value = cell.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    return min(max(float(value), 0.0), 1.0)


def _group(
    cell: Mapping[str, Any], x: float, plot_h: float, labels: Mapping[str, str]
) -> list[str]:
    program = escape(_name(cell.get("program", ""), labels["all"]))
    period = escape(_name(cell.get("period", ""), labels["all"]))
    caption = f"{program} · {period}"
    suppressed = cell.get("suppressed") is not False
    parts = [f'<g class="cell{" suppressed" if suppressed else ""}">']
    if suppressed:
        hidden = escape(labels["suppressed"])
        parts.append(
            f'<rect x="{x + 6:.1f}" y="{TOP}" width="{GROUP - 12}" height="{plot_h:.1f}" '
            f'fill="url(#hidden)" stroke="#5a5a5a" stroke-dasharray="4 3">'
            f"<title>{caption}: {hidden}</title></rect>"
            f'<text x="{x + GROUP / 2:.1f}" y="{TOP + plot_h / 2:.1f}" text-anchor="middle" '
            f'font-size="12" fill="#111111" transform="rotate(-90 {x + GROUP / 2:.1f} '
            f'{TOP + plot_h / 2:.1f})">{hidden}</text>'
        )
    else:
        bar = (GROUP - 16) / len(BARS)
        for index, (key, fill, legend) in enumerate(BARS):
            rate = _rate(cell, key)
            h = plot_h * rate
            parts.append(
                f'<rect x="{x + 8 + bar * index:.1f}" y="{TOP + plot_h - h:.1f}" '
                f'width="{bar - 2:.1f}" height="{h:.1f}" fill="{fill}" stroke="#111111" '
                f'stroke-width="1"><title>{caption}: {escape(labels[legend])} '
                f"{rate * 100:.0f} %</title></rect>"
            )
    parts.append(
        f'<text x="{x + GROUP / 2:.1f}" y="{TOP + plot_h + 18:.1f}" text-anchor="middle" '
        f'font-size="12" fill="#111111">{program}</text>'
        f'<text x="{x + GROUP / 2:.1f}" y="{TOP + plot_h + 34:.1f}" text-anchor="middle" '
        f'font-size="12" fill="#111111">{period}</text></g>'
    )
    return parts


def statistics_chart(cells: Sequence[Mapping[str, Any]], labels: Mapping[str, str]) -> str:
    """The SVG markup (safe to embed: built only from escaped text and numbers).

    ``labels``: ``title``, ``completion``, ``employment``, ``reoffending``,
    ``suppressed`` and ``all`` (the name of a total), in the viewer's language.
    """
    width = max(MIN_WIDTH, LEFT + 16 + GROUP * max(len(cells), 1))
    plot_h = HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {HEIGHT}" role="img" '
        'aria-labelledby="stats-title" '
        f'width="{width}" height="{HEIGHT}">',
        f'<title id="stats-title">{escape(labels["title"])}</title>',
        DEFS,
        f'<rect x="0" y="0" width="{width}" height="{HEIGHT}" fill="#ffffff"/>',
    ]
    for i in range(5):
        y = TOP + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{width - 16}" y2="{y:.1f}" stroke="#5a5a5a" '
            f'stroke-width="{1 if i else 2}"/>'
            f'<text x="{LEFT - 6}" y="{y + 5:.1f}" text-anchor="end" font-size="13" '
            f'fill="#111111">{25 * i} %</text>'
        )
    for index, cell in enumerate(cells):
        parts.extend(_group(cell, LEFT + GROUP * index, plot_h, labels))
    legend_y = HEIGHT - 14
    for index, (_, fill, legend) in enumerate(BARS):
        x = LEFT + 190 * index
        parts.append(
            f'<rect x="{x}" y="{legend_y - 12}" width="14" height="14" fill="{fill}" '
            f'stroke="#111111"/><text x="{x + 20}" y="{legend_y}" font-size="13" '
            f'fill="#111111">{escape(labels[legend])}</text>'
        )
    x = LEFT + 190 * len(BARS)
    parts.append(
        f'<rect x="{x}" y="{legend_y - 12}" width="14" height="14" fill="url(#hidden)" '
        f'stroke="#5a5a5a"/><text x="{x + 20}" y="{legend_y}" font-size="13" '
        f'fill="#111111">{escape(labels["suppressed"])}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)
