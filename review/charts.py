"""Charts as inline SVG, drawn on the server from counts the database aggregated.

No JavaScript and no network: a chart is a few rectangles and text in the page, so it
works offline, prints, and reads out in a screen reader (each chart has a title and
every bar says its number). Pure functions of their input: strings in, a string out.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from html import escape

__all__ = ["bars", "columns", "timeline", "wrap"]

BAR_HEIGHT = 20
BAR_GAP = 10
LINE_HEIGHT = 16
#: About how many characters of a 13px label fit on one line of the chart.
CHAR_WIDTH = 7.2
LABEL_LINES = 3
COUNT_WIDTH = 80
FONT = 'font-family="system-ui, sans-serif" font-size="13"'
COLOURS = ("#2563eb", "#0d9488", "#c026d3", "#ea580c", "#65a30d", "#dc2626")


def _svg(width: int, height: int, title: str, body: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="100%" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>{body}</svg>"
    )


def _short(label: str, limit: int = 28) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def wrap(label: str, per_line: int, lines: int = LABEL_LINES) -> list[str]:
    """`label` in lines of at most `per_line` characters, broken between words; if it
    needs more than `lines`, the last shown line ends in "…": a label is only ever
    shortened at its end, never cut at its start."""
    found = textwrap.wrap(" ".join(label.split()), per_line) or [""]
    if len(found) <= lines:
        return found
    shown = found[:lines]
    shown[-1] = shown[-1][: per_line - 1].rstrip() + "…"
    return shown


def bars(items: Sequence[tuple[str, int]], title: str, *, width: int = 440) -> str:
    """Horizontal bars: one per option, with the count and its share of the total.

    Each option's label sits above its bar across the chart's whole width, wrapped
    over up to three lines; a longer label ends in "…" and its full text is the
    label's tooltip (and in the table beside the chart)."""
    total = sum(count for _label, count in items) or 1
    most = max((count for _label, count in items), default=0) or 1
    track = width - COUNT_WIDTH
    per_line = max(int(width / CHAR_WIDTH), 10)
    parts: list[str] = []
    y = BAR_GAP
    for index, (label, count) in enumerate(items):
        lines = wrap(label, per_line)
        spans = "".join(
            f'<tspan x="0" dy="{0 if n == 0 else LINE_HEIGHT}">{escape(line)}</tspan>'
            for n, line in enumerate(lines)
        )
        parts.append(
            f'<text x="0" y="{y + LINE_HEIGHT - 4}" {FONT}><title>{escape(label)}</title>'
            f"{spans}</text>"
        )
        y += len(lines) * LINE_HEIGHT + 2
        length = round(track * count / most) if count else 0
        share = round(100 * count / total)
        colour = COLOURS[index % len(COLOURS)]
        parts.append(
            f'<rect x="0" y="{y}" width="{max(length, 1)}" height="{BAR_HEIGHT}" '
            f'rx="3" fill="{colour}"/>'
            f'<text x="{length + 6}" y="{y + 15}" {FONT}>{count} ({share}%)</text>'
        )
        y += BAR_HEIGHT + BAR_GAP
    if not items:
        parts.append(f'<text x="0" y="20" {FONT}>—</text>')
        y = 30
    return _svg(width, y, title, "".join(parts))


def columns(items: Sequence[tuple[str, int]], title: str, *, width: int = 440) -> str:
    """Vertical columns over ordered bins (a histogram or a scale)."""
    height, top, bottom = 200, 18, 36
    count_of = max(len(items), 1)
    slot = (width - 20) / count_of
    most = max((count for _label, count in items), default=0) or 1
    parts = [
        f'<line x1="10" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" '
        'stroke="#94a3b8"/>'
    ]
    for index, (label, count) in enumerate(items):
        x = 10 + index * slot
        bar = (height - top - bottom) * count / most
        y = height - bottom - bar
        parts.append(
            f'<rect x="{x + slot * 0.12:.1f}" y="{y:.1f}" width="{slot * 0.76:.1f}" '
            f'height="{max(bar, 0.5):.1f}" rx="2" fill="{COLOURS[0]}"/>'
            f'<text x="{x + slot / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle" {FONT}>'
            f"{count}</text>"
            f'<text x="{x + slot / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
            f"{FONT}>{escape(_short(label, 12))}</text>"
        )
    return _svg(width, height, title, "".join(parts))


def timeline(points: Sequence[tuple[str, int]], title: str, *, width: int = 440) -> str:
    """Counts per day as a line with a filled area; first and last day labelled."""
    height, top, bottom, left = 140, 16, 28, 36
    if not points:
        return _svg(width, 40, title, f'<text x="10" y="24" {FONT}>—</text>')
    most = max(count for _day, count in points) or 1
    step = (width - left - 10) / max(len(points) - 1, 1)
    coords = [
        (left + i * step, height - bottom - (height - top - bottom) * count / most)
        for i, (_day, count) in enumerate(points)
    ]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    base = height - bottom
    area = f"{left},{base} {line} {coords[-1][0]:.1f},{base}"
    dots = "".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{COLOURS[0]}">'
        f"<title>{escape(day)}: {count}</title></circle>"
        for (x, y), (day, count) in zip(coords, points, strict=True)
    )
    body = (
        f'<polygon points="{area}" fill="{COLOURS[0]}" fill-opacity="0.15"/>'
        f'<polyline points="{line}" fill="none" stroke="{COLOURS[0]}" stroke-width="2"/>'
        f"{dots}"
        f'<text x="4" y="{top + 4}" {FONT}>{most}</text>'
        f'<text x="{left}" y="{height - 8}" {FONT}>{escape(points[0][0])}</text>'
        f'<text x="{width - 10}" y="{height - 8}" text-anchor="end" {FONT}>'
        f"{escape(points[-1][0])}</text>"
    )
    return _svg(width, height, title, body)
