"""Small standalone SVG charts (histogram, sparkline, bars) for pages and reports that must work offline.

Minimal version written by the window lane against the interface fixed in LANES.md; the glance lane owns this
module and its fuller version replaces this one at merge. Every function returns one `<svg>` string with no
external reference (no fonts, scripts or links), and escapes every label it draws.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from html import escape

_BAR = "#3b6ea5"
_AXIS = "#555"


def _svg(width: int, height: int, body: str, title: str) -> str:
    label = escape(title or "chart")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{label}">'
            f"<title>{label}</title>{body}</svg>")


def histogram_svg(values: Sequence[float], *, bins: int = 10, title: str = "") -> str:
    """Counts of `values` in `bins` equal-width bins over 0–100 (scores), or over their range otherwise."""
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    bins = max(1, int(bins))
    low, high = (0.0, 100.0) if all(0 <= v <= 100 for v in finite) else (min(finite), max(finite))
    if high <= low:
        high = low + 1.0
    counts = [0] * bins
    for v in finite:
        counts[min(bins - 1, int((v - low) / (high - low) * bins))] += 1
    width, height, top, bottom, left = 420, 200, 36 if title else 16, 28, 30
    plot_w, plot_h = width - left - 10, height - top - bottom
    peak = max(counts) or 1
    step = plot_w / bins
    parts = [f'<text x="{width / 2}" y="16" text-anchor="middle" font-size="13">{escape(title)}</text>'] if title \
        else []
    for i, n in enumerate(counts):
        h = plot_h * n / peak
        x, y = left + i * step, top + plot_h - h
        edge_lo, edge_hi = low + i * (high - low) / bins, low + (i + 1) * (high - low) / bins
        parts.append(f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{step - 2:.1f}" height="{h:.1f}" fill="{_BAR}">'
                     f"<title>{edge_lo:g}–{edge_hi:g}: {n}</title></rect>")
        if n:
            parts.append(f'<text x="{x + step / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle" font-size="10">{n}</text>')
    for i in range(0, bins + 1, max(1, bins // 5)):
        x = left + i * step
        parts.append(f'<text x="{x:.1f}" y="{height - 10}" text-anchor="middle" font-size="10" fill="{_AXIS}">'
                     f"{low + i * (high - low) / bins:g}</text>")
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="{_AXIS}"/>')
    return _svg(width, height, "".join(parts), title)


def sparkline_svg(points: Sequence[tuple[date, float]], *, width: int = 120, height: int = 24) -> str:
    """A line through (date, value) points in date order; one point is drawn as a dot."""
    pts = sorted((d, float(v)) for d, v in points if v is not None and math.isfinite(float(v)))
    if not pts:
        return _svg(width, height, "", "no history")
    lo, hi = min(v for _, v in pts), max(v for _, v in pts)
    first, last = pts[0][0].toordinal(), pts[-1][0].toordinal()
    span_x, span_y = max(1, last - first), (hi - lo) or 1.0
    pad = 3

    def xy(d: date, v: float) -> tuple[float, float]:
        x = pad + (d.toordinal() - first) / span_x * (width - 2 * pad) if len(pts) > 1 else width / 2
        y = height - pad - (v - lo) / span_y * (height - 2 * pad) if hi > lo else height / 2
        return x, y

    coords = [xy(d, v) for d, v in pts]
    body = ""
    if len(coords) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        body += f'<polyline points="{path}" fill="none" stroke="{_BAR}" stroke-width="1.5"/>'
    x, y = coords[-1]
    body += f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{_BAR}"/>'
    title = ", ".join(f"{d.isoformat()}: {v:.1f}" for d, v in pts[-12:])
    return _svg(width, height, body, title)


def bar_svg(labels: Sequence[str], values: Sequence[float], *, title: str = "") -> str:
    """Horizontal bars, one per label, with the value written at the end of each bar."""
    rows = list(zip(labels, values, strict=True))
    bar_h, gap, left, top = 18, 6, 110, 24 if title else 6
    width = 420
    height = top + len(rows) * (bar_h + gap) + 6
    peak = max((float(v) for _, v in rows), default=0.0) or 1.0
    plot_w = width - left - 50
    parts = [f'<text x="{width / 2}" y="16" text-anchor="middle" font-size="13">{escape(title)}</text>'] if title \
        else []
    for i, (label, value) in enumerate(rows):
        y = top + i * (bar_h + gap)
        w = plot_w * float(value) / peak
        parts.append(f'<text x="{left - 6}" y="{y + bar_h - 5}" text-anchor="end" font-size="11">'
                     f"{escape(str(label))}</text>")
        parts.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{_BAR}"/>')
        parts.append(f'<text x="{left + w + 4:.1f}" y="{y + bar_h - 5}" font-size="11">{float(value):g}</text>')
    return _svg(width, height, "".join(parts), title)
