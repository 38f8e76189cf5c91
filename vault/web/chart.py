"""A bar chart of accesses per day (allowed beside denied), drawn as SVG on the server.

No script and no library: the markup is built from numbers only, and every
text is escaped. Bars carry a pattern as well as a colour (denied bars are
hatched), and each bar has a <title>, so the chart does not rely on colour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from html import escape

WIDTH = 760
HEIGHT = 300
LEFT = 48
BOTTOM = 56
TOP = 16


@dataclass(frozen=True)
class DayCount:
    day: date
    allowed: int
    denied: int


def _nice_max(value: int) -> int:
    top = max(value, 1)
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000):
        if top <= step * 4:
            return step * 4  # four gridlines at whole multiples of the step
    return top


def access_chart(days: list[DayCount], *, allowed_label: str, denied_label: str, title: str) -> str:
    """The SVG markup (safe to embed: built only from escaped text and numbers)."""
    plot_w = WIDTH - LEFT - 16
    plot_h = HEIGHT - TOP - BOTTOM
    peak = _nice_max(max([max(d.allowed, d.denied) for d in days] or [0]))
    slot = plot_w / max(len(days), 1)
    bar = max(min(slot / 2 - 4, 28), 2)
    parts = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby="chart-title" width="{WIDTH}" height="{HEIGHT}">',
        f'<title id="chart-title">{escape(title)}</title>',
        '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#8a1c1c"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#ffffff" stroke-width="2"/></pattern></defs>',
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
    ]
    for i in range(5):
        value = peak * i // 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - 16}" y2="{y:.1f}" stroke="#5a5a5a" '
            f'stroke-width="{1 if i else 2}"/>'
            f'<text x="{LEFT - 6}" y="{y + 5:.1f}" text-anchor="end" font-size="13" '
            f'fill="#111111">{value}</text>'
        )
    for index, day in enumerate(days):
        x0 = LEFT + slot * index + slot / 2
        for offset, count, fill, label in (
            (-bar - 1, day.allowed, "#0b4f8a", allowed_label),
            (1, day.denied, "url(#hatch)", denied_label),
        ):
            h = plot_h * count / peak
            y = TOP + plot_h - h
            parts.append(
                f'<rect x="{x0 + offset:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{fill}" stroke="#111111" stroke-width="1">'
                f"<title>{escape(day.day.isoformat())}: {count} {escape(label)}</title></rect>"
            )
        parts.append(
            f'<text x="{x0:.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle" font-size="12" '
            f'fill="#111111">{day.day.strftime("%d/%m")}</text>'
        )
    legend_y = HEIGHT - 14
    parts.append(
        f'<rect x="{LEFT}" y="{legend_y - 12}" width="14" height="14" fill="#0b4f8a" '
        f'stroke="#111111"/><text x="{LEFT + 20}" y="{legend_y}" font-size="13" '
        f'fill="#111111">{escape(allowed_label)}</text>'
        f'<rect x="{LEFT + 160}" y="{legend_y - 12}" width="14" height="14" fill="url(#hatch)" '
        f'stroke="#111111"/><text x="{LEFT + 180}" y="{legend_y}" font-size="13" '
        f'fill="#111111">{escape(denied_label)}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)
