"""Bar charts of labelled counts, drawn as SVG on the server (beside ``vault.web.chart``).

``grouped_bars``: one row per label (an organisation, a purpose, a role) with an
allowed and a refused bar, drawn horizontally so long labels stay readable;
``month_bars``: one column per month. No script, no library: the markup is built
from numbers and escaped text only. Refused bars are hatched as well as coloured
and every bar has a <title>, so nothing relies on colour; each chart has a
table of its numbers beside it on the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

__all__ = ["grouped_bars", "month_bars"]

WIDTH = 760
LABEL_W = 220
ROW_H = 34
ALLOWED_FILL = "#0b4f8a"


def _hatch(chart_id: str) -> str:
    return (
        f'<defs><pattern id="hatch-{chart_id}" width="6" height="6" '
        'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        '<rect width="6" height="6" fill="#8a1c1c"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#ffffff" stroke-width="2"/></pattern></defs>'
    )


def _head(chart_id: str, title: str, height: int) -> list[str]:
    return [
        f'<svg viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="{chart_id}-title" '
        f'width="{WIDTH}" height="{height}">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        _hatch(chart_id),
        f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/>',
    ]


def grouped_bars(
    rows: Sequence[tuple[str, int, int]],
    *,
    chart_id: str,
    title: str,
    allowed_label: str,
    denied_label: str,
) -> str:
    """Rows of (label, allowed, refused) as horizontal bars (safe to embed)."""
    plot_w = WIDTH - LABEL_W - 60
    height = 40 + ROW_H * max(len(rows), 1) + 30
    peak = max([max(a, d) for _, a, d in rows] or [1]) or 1
    parts = _head(chart_id, title, height)
    for index, (label, allowed, denied) in enumerate(rows):
        y = 20 + ROW_H * index
        parts.append(
            f'<text x="{LABEL_W - 8}" y="{y + 18}" text-anchor="end" font-size="13" '
            f'fill="#111111">{escape(label[:32])}</text>'
        )
        for offset, count, fill, name in (
            (2, allowed, ALLOWED_FILL, allowed_label),
            (16, denied, f"url(#hatch-{chart_id})", denied_label),
        ):
            w = plot_w * count / peak
            parts.append(
                f'<rect x="{LABEL_W}" y="{y + offset}" width="{w:.1f}" height="12" '
                f'fill="{fill}" stroke="#111111" stroke-width="1">'
                f"<title>{escape(label)}: {count} {escape(name)}</title></rect>"
                f'<text x="{LABEL_W + w + 6:.1f}" y="{y + offset + 11}" font-size="12" '
                f'fill="#111111">{count}</text>'
            )
    legend_y = height - 12
    parts.append(
        f'<rect x="{LABEL_W}" y="{legend_y - 12}" width="14" height="14" fill="{ALLOWED_FILL}" '
        f'stroke="#111111"/><text x="{LABEL_W + 20}" y="{legend_y}" font-size="13" '
        f'fill="#111111">{escape(allowed_label)}</text>'
        f'<rect x="{LABEL_W + 200}" y="{legend_y - 12}" width="14" height="14" '
        f'fill="url(#hatch-{chart_id})" stroke="#111111"/>'
        f'<text x="{LABEL_W + 220}" y="{legend_y}" font-size="13" '
        f'fill="#111111">{escape(denied_label)}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def month_bars(months: Sequence[tuple[str, int]], *, chart_id: str, title: str) -> str:
    """Columns of (month "YYYY-MM", count), oldest first (safe to embed)."""
    height, left, bottom, top = 240, 48, 40, 16
    plot_w, plot_h = WIDTH - left - 16, height - top - bottom
    peak = max([c for _, c in months] or [1]) or 1
    slot = plot_w / max(len(months), 1)
    bar = max(min(slot - 10, 40), 2)
    parts = _head(chart_id, title, height)
    parts.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{WIDTH - 16}" y2="{top + plot_h}" '
        'stroke="#5a5a5a" stroke-width="2"/>'
    )
    for index, (month, count) in enumerate(months):
        x = left + slot * index + (slot - bar) / 2
        h = plot_h * count / peak
        y = top + plot_h - h
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
            f'fill="{ALLOWED_FILL}" stroke="#111111" stroke-width="1">'
            f"<title>{escape(month)}: {count}</title></rect>"
            f'<text x="{x + bar / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle" font-size="12" '
            f'fill="#111111">{count}</text>'
            f'<text x="{x + bar / 2:.1f}" y="{height - bottom + 18}" text-anchor="middle" '
            f'font-size="12" fill="#111111">{escape(month[2:])}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
