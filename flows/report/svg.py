"""Small inline-SVG chart primitives for the KPI report.

Why hand-written SVG: the report must be one self-contained file that opens offline (no CDN, no
script fetched), and a handful of chart types covers what a marketer needs. Every mark carries a
`<title>` so hovering shows the exact number, and every chart gets `class="chart"` plus
`data-marks` (how many data marks it drew), which the browser test counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

PALETTE = ["#4f46e5", "#0ea5e9", "#10b981", "#f59e0b", "#ef4444", "#8b5cf6", "#64748b", "#ec4899", "#14b8a6"]
STAGE_COLORS = {
    "reach": "#94a3b8",
    "acquisition": "#0ea5e9",
    "conversion": "#4f46e5",
    "retention": "#10b981",
    "loyalty": "#059669",
    "at_risk": "#f59e0b",
    "churned": "#ef4444",
}
FONT = "font-family:inherit;font-size:12px"


def fmt_num(v: float | int | None) -> str:
    if v is None:
        return "n/a"
    v = float(v)
    if abs(v) >= 1_000_000:
        return f"{v / 1_000_000:.1f}M"
    if abs(v) >= 10_000:
        return f"{v / 1_000:.0f}k"
    if abs(v) >= 1_000:
        return f"{v / 1_000:.1f}k"
    return f"{v:.0f}" if v == int(v) else f"{v:.1f}"


def fmt_pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * float(v):.1f}%"


def _svg(width: int, height: int, body: list[str], marks: int, label: str, max_scale: float = 2.0) -> str:
    """Scales with its panel, but never beyond `max_scale` (a 3-column heatmap must not fill a page)."""
    return (
        f'<svg class="chart" data-marks="{marks}" role="img" aria-label="{escape(label)}" '
        f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'xmlns="http://www.w3.org/2000/svg" style="{FONT};max-width:{width * max_scale:.0f}px">'
        + "".join(body)
        + "</svg>"
    )


def _color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def hbar_chart(
    items: Sequence[tuple[str, float | None]],
    label: str,
    value_fmt=fmt_num,
    colors: Sequence[str] | None = None,
    width: int = 560,
) -> str:
    """Horizontal bars, one per (label, value), sorted as given."""
    row_h, left, right = 26, 150, 70
    height = row_h * len(items) + 10
    vmax = max((v or 0) for _, v in items) or 1
    body, marks = [], 0
    for i, (name, v) in enumerate(items):
        y = 5 + i * row_h
        w = (width - left - right) * (v or 0) / vmax
        color = colors[i] if colors else _color(0)
        body.append(
            f'<text x="{left - 8}" y="{y + 17}" text-anchor="end" fill="#334155">'
            f"{escape(str(name)[:24])}</text>"
        )
        body.append(
            f'<rect class="mark" x="{left}" y="{y + 4}" width="{max(w, 1):.1f}" height="{row_h - 8}" rx="3" '
            f'fill="{color}"><title>{escape(str(name))}: {value_fmt(v)}</title></rect>'
        )
        body.append(f'<text x="{left + w + 6:.1f}" y="{y + 17}" fill="#0f172a">{value_fmt(v)}</text>')
        marks += 1
    return _svg(width, height, body, marks, label)


def funnel_chart(items: Sequence[tuple[str, int]], label: str, width: int = 560) -> str:
    """Stage names left, centred bars narrowing down the stages, counts and shares right."""
    row_h, left, right = 34, 100, 96
    height = row_h * len(items) + 10
    total = sum(v for _, v in items) or 1
    vmax = max((v for _, v in items), default=0) or 1
    plot_w = width - left - right
    body, marks = [], 0
    for i, (name, v) in enumerate(items):
        y = 5 + i * row_h
        w = max(plot_w * v / vmax, 2)
        x = left + (plot_w - w) / 2
        color = STAGE_COLORS.get(name, _color(i))
        body.append(
            f'<text x="{left - 8}" y="{y + 19}" text-anchor="end" fill="#334155" style="font-weight:600">'
            f"{escape(name.replace('_', ' '))}</text>"
        )
        body.append(
            f'<rect class="mark" x="{x:.1f}" y="{y + 2}" width="{w:.1f}" height="{row_h - 8}" rx="4" '
            f'fill="{color}"><title>{escape(name)}: {v} persons ({v / total:.1%})</title></rect>'
        )
        body.append(
            f'<text x="{width - right + 8}" y="{y + 19}" fill="#0f172a">{fmt_num(v)} '
            f'<tspan fill="#94a3b8">({v / total:.0%})</tspan></text>'
        )
        marks += 1
    return _svg(width, height, body, marks, label)


def stacked_bars(
    periods: Sequence[str],
    series: dict[str, Sequence[float]],
    label: str,
    colors: dict[str, str] | None = None,
    width: int = 560,
    height: int = 260,
) -> str:
    """Vertical stacked bars per period (e.g. stage entries per month), with a legend."""
    left, bottom, top = 44, 40, 10
    n = max(len(periods), 1)
    totals = [sum(series[s][i] for s in series) for i in range(len(periods))]
    vmax = max(totals, default=0) or 1
    plot_h = height - bottom - top
    bw = (width - left - 10) / n
    body = _y_axis(left, top, plot_h, width, vmax, fmt_num)
    marks = 0
    for i, period in enumerate(periods):
        x = left + i * bw + bw * 0.15
        y = top + plot_h
        for j, (name, values) in enumerate(series.items()):
            v = values[i]
            if not v:
                continue
            h = plot_h * v / vmax
            y -= h
            color = (colors or {}).get(name, _color(j))
            body.append(
                f'<rect class="mark" x="{x:.1f}" y="{y:.1f}" width="{bw * 0.7:.1f}" height="{h:.1f}" '
                f'fill="{color}"><title>{escape(period)} {escape(name)}: {fmt_num(v)}</title></rect>'
            )
            marks += 1
        if i % _tick_every(n, width) == 0:
            body.append(
                f'<text x="{x + bw * 0.35:.1f}" y="{top + plot_h + 14}" text-anchor="middle" '
                f'fill="#64748b">{escape(_tick(period))}</text>'
            )
    body += _legend(list(series), colors, height - 14, left)
    return _svg(width, height, body, marks, label)


def line_chart(
    periods: Sequence[str],
    series: dict[str, Sequence[float | None]],
    label: str,
    value_fmt=fmt_pct,
    vmax: float | None = None,
    width: int = 560,
    height: int = 240,
) -> str:
    """Lines over periods (rates); gaps where a value is NULL (zero denominators stay gaps)."""
    left, bottom, top = 50, 40, 10
    plot_h = height - bottom - top
    values = [v for s in series.values() for v in s if v is not None]
    vmax = vmax or (max(values, default=0) or 1)
    n = max(len(periods) - 1, 1)
    step = (width - left - 14) / n
    body = _y_axis(left, top, plot_h, width, vmax, value_fmt)
    marks = 0
    for j, (name, vals) in enumerate(series.items()):
        color = _color(j)
        pts, segs = [], []
        for i, v in enumerate(vals):
            if v is None:
                if pts:
                    segs.append(pts)
                pts = []
                continue
            x, y = left + i * step, top + plot_h - plot_h * min(v, vmax) / vmax
            pts.append((x, y))
            body.append(
                f'<circle class="mark" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}">'
                f"<title>{escape(periods[i])} {escape(name)}: {value_fmt(v)}</title></circle>"
            )
            marks += 1
        if pts:
            segs.append(pts)
        for seg in segs:
            d = " ".join(f"{x:.1f},{y:.1f}" for x, y in seg)
            body.append(f'<polyline points="{d}" fill="none" stroke="{color}" stroke-width="2"/>')
    every = _tick_every(len(periods), width)
    for i, p in enumerate(periods):
        if i % every == 0:
            body.append(
                f'<text x="{left + i * step:.1f}" y="{top + plot_h + 14}" text-anchor="middle" '
                f'fill="#64748b">{escape(_tick(p))}</text>'
            )
    body += _legend(list(series), None, height - 14, left)
    return _svg(width, height, body, marks, label)


def heatmap(
    rows: Sequence[str], cols: Sequence[str], cells: dict[tuple[str, str], float | None], label: str
) -> str:
    """Cohort-style heatmap: rows x cols, colour by share (0..1), value printed in each cell."""
    left, top, cw, ch = 70, 24, 44, 24
    width = left + cw * len(cols) + 10
    height = top + ch * len(rows) + 10
    body, marks = [], 0
    for j, c in enumerate(cols):
        body.append(
            f'<text x="{left + j * cw + cw / 2}" y="{top - 8}" text-anchor="middle" '
            f'fill="#64748b">{escape(c)}</text>'
        )
    for i, r in enumerate(rows):
        y = top + i * ch
        body.append(f'<text x="{left - 6}" y="{y + 16}" text-anchor="end" fill="#334155">{escape(r)}</text>')
        for j, c in enumerate(cols):
            v = cells.get((r, c))
            if v is None:
                continue
            x = left + j * cw
            alpha = 0.08 + 0.92 * max(0.0, min(float(v), 1.0))
            fill = "#fff" if alpha > 0.55 else "#0f172a"
            body.append(
                f'<rect class="mark" x="{x}" y="{y}" width="{cw - 2}" height="{ch - 2}" rx="2" '
                f'fill="rgba(79,70,229,{alpha:.2f})"><title>cohort {escape(r)}, month +{escape(c)}: '
                f"{fmt_pct(v)}</title></rect>"
            )
            body.append(
                f'<text x="{x + cw / 2 - 1}" y="{y + 15}" text-anchor="middle" fill="{fill}" '
                f'style="font-size:10px">{100 * float(v):.0f}%</text>'
            )
            marks += 1
    return _svg(width, height, body, marks, label, max_scale=1.6)


def _tick(period: str) -> str:
    """Short axis label: a day (YYYY-MM-DD) shows as MM-DD; a month stays YYYY-MM."""
    return period[5:] if len(period) == 10 and period[4] == "-" else period


def _tick_every(n: int, width: int) -> int:
    """Label every k-th period so labels (about 48px each) never overlap."""
    fits = max(int((width - 60) / 48), 1)
    return max(-(-n // fits), 1)


def _y_axis(left: int, top: int, plot_h: float, width: int, vmax: float, value_fmt) -> list[str]:
    out = []
    for k in range(5):
        v = vmax * k / 4
        y = top + plot_h - plot_h * k / 4
        out.append(f'<line x1="{left}" x2="{width - 4}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e2e8f0"/>')
        out.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#94a3b8">{value_fmt(v)}</text>'
        )
    return out


def _legend(names: list[str], colors: dict[str, str] | None, y: float, left: int) -> list[str]:
    out, x = [], left
    for j, name in enumerate(names):
        color = (colors or {}).get(name, _color(j))
        out.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" rx="2" fill="{color}"/>')
        out.append(f'<text x="{x + 14}" y="{y}" fill="#334155">{escape(name.replace("_", " "))}</text>')
        x += 24 + 7 * len(name)
    return out
