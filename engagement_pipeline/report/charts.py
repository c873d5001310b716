"""Small charts as standalone SVG strings, and the same as `data:` URIs for Markdown images.

Hand-written SVG rather than matplotlib: matplotlib is not a dependency (about 40 MB with its fonts, a second
of import per run), and its SVG output embeds font paths and ids that change between versions, which would
churn the committed sample report. These charts are a few rectangles and one polyline; writing them directly
keeps each under ~2 kB, byte-for-byte reproducible, and free of external references (no fonts, links or
scripts), so the Dagster UI's sanitised Markdown and any .md viewer show them the same way.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from datetime import date
from xml.sax.saxutils import escape

__all__ = ["bar_svg", "data_uri", "histogram_svg", "md_image", "sparkline_svg"]

_FONT = 'font-family="Helvetica,Arial,sans-serif"'
_BAR = "#4f6fd6"
_LINE = "#4f6fd6"
_MUTED = "#555"


def _num(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _svg(width: int, height: int, body: list[str], title: str = "") -> str:
    label = f"<title>{escape(title)}</title>" if title else ""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img">{label}{"".join(body)}</svg>')


def histogram_svg(values: Sequence[float], *, bins: int = 10, title: str = "") -> str:
    """Counts of `values` in `bins` equal bins over 0–100 (scores), or over their own range when outside it."""
    clean = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    bins = max(1, int(bins))
    lo, hi = (0.0, 100.0) if all(0 <= v <= 100 for v in clean) else (min(clean, default=0.0),
                                                                       max(clean, default=1.0))
    span = (hi - lo) or 1.0
    counts = [0] * bins
    for v in clean:
        counts[min(bins - 1, int((v - lo) / span * bins))] += 1
    width, height, left, bottom, top = 420, 180, 30, 28, 24 if title else 8
    plot_w, plot_h = width - left - 10, height - bottom - top
    peak = max(counts, default=0) or 1
    step = plot_w / bins
    body = [f'<rect width="{width}" height="{height}" fill="#fff"/>']
    if title:
        body.append(f'<text x="{left}" y="16" font-size="13" {_FONT} fill="#222">{escape(title)}</text>')
    for i, n in enumerate(counts):
        h = plot_h * n / peak
        x, y = left + i * step, top + plot_h - h
        body.append(f'<rect x="{_num(x + 1)}" y="{_num(y)}" width="{_num(step - 2)}" height="{_num(h)}" '
                    f'fill="{_BAR}"/>')
        if n:
            body.append(f'<text x="{_num(x + step / 2)}" y="{_num(y - 3)}" font-size="10" text-anchor="middle" '
                        f'{_FONT} fill="{_MUTED}">{n}</text>')
    axis_y = top + plot_h
    body.append(f'<line x1="{left}" y1="{axis_y}" x2="{left + plot_w}" y2="{axis_y}" stroke="#999"/>')
    for i in range(0, bins + 1, max(1, bins // 5)):
        x = left + i * step
        body.append(f'<text x="{_num(x)}" y="{axis_y + 14}" font-size="10" text-anchor="middle" {_FONT} '
                    f'fill="{_MUTED}">{_num(lo + span * i / bins)}</text>')
    return _svg(width, height, body, title or "histogram")


def sparkline_svg(points: Sequence[tuple[date, float]], *, width: int = 120, height: int = 24) -> str:
    """A line through (date, value) points in date order, the last point dotted; empty frame for no points."""
    pts = sorted((d, float(v)) for d, v in points if v is not None and not math.isnan(float(v)))
    body: list[str] = []
    if pts:
        days = [d.toordinal() for d, _ in pts]
        vals = [v for _, v in pts]
        d0, d_span = days[0], (days[-1] - days[0]) or 1
        v0, v_span = min(vals), (max(vals) - min(vals)) or 1.0
        pad = 3

        def xy(day: int, val: float) -> tuple[float, float]:
            x = pad + (width - 2 * pad) * ((day - d0) / d_span if len(pts) > 1 else 0.5)
            y = height - pad - (height - 2 * pad) * ((val - v0) / v_span if max(vals) > min(vals) else 0.5)
            return x, y

        coords = [xy(d, v) for d, v in zip(days, vals, strict=True)]
        body.append(f'<polyline fill="none" stroke="{_LINE}" stroke-width="1.5" points="'
                    + " ".join(f"{_num(x)},{_num(y)}" for x, y in coords) + '"/>')
        lx, ly = coords[-1]
        body.append(f'<circle cx="{_num(lx)}" cy="{_num(ly)}" r="2" fill="{_LINE}"/>')
    title = (f"{pts[0][1]:.0f} → {pts[-1][1]:.0f}" if pts else "no data")
    return _svg(width, height, body, title)


def bar_svg(labels: Sequence[str], values: Sequence[float], *, title: str = "") -> str:
    """Horizontal bars, one per label, with the value at the end of each bar."""
    rows = list(zip([str(lbl) for lbl in labels], [float(v) for v in values], strict=True))
    label_w = min(200, 8 + 7 * max((len(lbl) for lbl, _ in rows), default=4))
    row_h, top = 20, 24 if title else 6
    width, height = label_w + 260, top + row_h * len(rows) + 6
    peak = max((v for _, v in rows), default=0) or 1.0
    body = [f'<rect width="{width}" height="{height}" fill="#fff"/>']
    if title:
        body.append(f'<text x="4" y="16" font-size="13" {_FONT} fill="#222">{escape(title)}</text>')
    for i, (lbl, v) in enumerate(rows):
        y = top + i * row_h
        w = 200 * max(v, 0) / peak
        body.append(f'<text x="{label_w - 6}" y="{y + 14}" font-size="11" text-anchor="end" {_FONT} '
                    f'fill="#222">{escape(lbl)}</text>')
        body.append(f'<rect x="{label_w}" y="{y + 3}" width="{_num(w)}" height="{row_h - 6}" fill="{_BAR}"/>')
        body.append(f'<text x="{_num(label_w + w + 4)}" y="{y + 14}" font-size="11" {_FONT} '
                    f'fill="{_MUTED}">{_num(v)}</text>')
    return _svg(width, height, body, title or "bar chart")


def data_uri(svg: str) -> str:
    """The SVG as a `data:image/svg+xml;base64,…` URI (base64: no character of it needs Markdown escaping)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def md_image(svg: str, alt: str) -> str:
    """A Markdown image of `svg`; `alt` must already be plain (it is our own label, never uploaded text)."""
    return f"![{alt}]({data_uri(svg)})"
