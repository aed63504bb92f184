"""Charts as inline SVG, drawn on the server from counts the database aggregated.

No JavaScript and no network: a chart is a few rectangles and text in the page, so it
works offline, prints, and reads out in a screen reader (each chart has a title and
every bar says its number). Pure functions of their input: strings in, a string out.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

__all__ = ["bars", "columns", "timeline"]

BAR_HEIGHT = 22
BAR_GAP = 6
LABEL_WIDTH = 140
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


def bars(items: Sequence[tuple[str, int]], title: str, *, width: int = 440) -> str:
    """Horizontal bars: one per option, with the count and its share of the total."""
    total = sum(count for _label, count in items) or 1
    most = max((count for _label, count in items), default=0) or 1
    track = width - LABEL_WIDTH - COUNT_WIDTH
    height = max(len(items), 1) * (BAR_HEIGHT + BAR_GAP) + BAR_GAP
    parts: list[str] = []
    for index, (label, count) in enumerate(items):
        y = BAR_GAP + index * (BAR_HEIGHT + BAR_GAP)
        length = round(track * count / most) if count else 0
        share = round(100 * count / total)
        colour = COLOURS[index % len(COLOURS)]
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 16}" text-anchor="end" {FONT}>'
            f"<title>{escape(label)}</title>{escape(_short(label, 20))}</text>"
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{max(length, 1)}" height="{BAR_HEIGHT}" '
            f'rx="3" fill="{colour}"/>'
            f'<text x="{LABEL_WIDTH + length + 6}" y="{y + 16}" {FONT}>{count} ({share}%)</text>'
        )
    if not items:
        parts.append(f'<text x="{LABEL_WIDTH}" y="20" {FONT}>—</text>')
    return _svg(width, height, title, "".join(parts))


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
