"""Plotly charts for the KPI report: figure builders with round ticks, units and honest periods.

Why Plotly (DECISIONS.md, "KPI report charts"): a maintained library that ships plotly.js in the
Python package, so the report inlines it once and still opens offline, with hover values, zoom,
legend toggles, Sankey diagrams and heatmaps built in.

Every chart is emitted as an empty `<div class="chart">` plus its figure as JSON in a
`<script type="application/json">`; page.py's loader draws them all with the one inlined
plotly.js. Time-series charts carry `data-timeseries`, which the page's date-range control acts on.
Two honesty rules are applied here so every panel follows them:
- a period that is not over yet (the month or week of as_of) is shaded and labelled "partial";
- a rate resting on few observations is drawn in grey with its count in the hover text.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

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
GREY = "#cbd5e1"
PARTIAL_FILL = "rgba(148,163,184,0.18)"
CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}

# Plotly's default template is ~7 kB of JSON per chart; a small shared look keeps the file lean.
BASE_LAYOUT: dict[str, Any] = {
    "template": "none",
    "font": {"family": '-apple-system,"Segoe UI",Roboto,Arial,sans-serif', "size": 12, "color": "#0f172a"},
    "margin": {"l": 60, "r": 20, "t": 30, "b": 40},
    "paper_bgcolor": "#fff",
    "plot_bgcolor": "#fff",
    "hovermode": "closest",
    "legend": {"orientation": "h", "y": -0.18, "x": 0},
    "colorway": PALETTE,
}
CONFIG = {"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}

_ids = itertools.count(1)


@dataclass
class Money:
    """How to print an amount of the report's currency (taken from the orders)."""

    code: str | None  # ISO 4217, or None when the data has none

    @property
    def prefix(self) -> str:
        return CURRENCY_SYMBOLS.get(self.code or "", "")

    @property
    def suffix(self) -> str:
        return "" if self.prefix or not self.code else f" {self.code}"

    def fmt(self, v: float | None, decimals: int = 0) -> str:
        if v is None:
            return "–"
        sign = "-" if v < 0 else ""
        return f"{sign}{self.prefix}{abs(v):,.{decimals}f}{self.suffix}"

    def axis(self) -> dict[str, Any]:
        return {"tickprefix": self.prefix, "ticksuffix": self.suffix, "tickformat": ",.2~f"}

    def hover(self, field_: str = "y") -> str:
        return f"{self.prefix}%{{{field_}:,.2f}}{self.suffix}"


@dataclass
class Chart:
    """One Plotly figure placed in the page; `timeseries` puts it under the date-range control."""

    figure: go.Figure
    height: int = 320
    timeseries: bool = False
    name: str = ""
    id: str = field(default_factory=lambda: f"chart-{next(_ids)}")

    def html(self) -> str:
        spec = self.figure.to_plotly_json()
        own = spec.get("layout", {})
        layout = {k: {**v, **own.get(k, {})} if isinstance(v, dict) else v for k, v in BASE_LAYOUT.items()}
        layout.update({k: v for k, v in own.items() if k not in BASE_LAYOUT})
        layout["height"] = self.height
        layout.pop("template", None)
        payload = pio.to_json({"data": spec.get("data", []), "layout": layout, "config": CONFIG})
        payload = payload.replace("</", "<\\/")  # JSON inside a script element
        ts = ' data-timeseries="1"' if self.timeseries else ""
        return (
            f'<div class="chart" id="{self.id}" data-chart="{escape(self.name)}"{ts} '
            f'style="height:{self.height}px"></div>'
            f'<script type="application/json" class="chart-spec" data-for="{self.id}">{payload}</script>'
        )


def count_axis(values: Sequence[float | None], title: str = "") -> dict[str, Any]:
    """Whole-number ticks (people and tickets are counted, not measured): 1, 2, 5 x 10^n steps."""
    top = max([v for v in values if v is not None] or [0])
    axis: dict[str, Any] = {"tickformat": ",d", "rangemode": "tozero", "title": {"text": title}}
    if top <= 5:
        axis["dtick"] = 1
    elif top <= 10:
        axis["dtick"] = 2
    return axis


def pct_axis(title: str = "", top: float | None = None) -> dict[str, Any]:
    axis: dict[str, Any] = {"tickformat": ".0%", "title": {"text": title}, "rangemode": "tozero"}
    if top is not None:
        axis["range"] = [0, top]
        axis["dtick"] = 0.2 if top >= 0.8 else None
    return axis


def mark_partial(fig: go.Figure, start: str, end: str, label: str) -> None:
    """Shade a period that is not over yet, so a short bar does not read as a collapse."""
    fig.add_vrect(
        x0=start,
        x1=end,
        fillcolor=PARTIAL_FILL,
        line_width=0,
        layer="below",
        annotation_text=label,
        annotation_position="top left",
        annotation_font={"size": 11, "color": "#64748b"},
    )


def date_axis(title: str = "") -> dict[str, Any]:
    return {"type": "date", "title": {"text": title}, "hoverformat": "%Y-%m-%d"}


def _fmt(v: float | None, value_format: str) -> str:
    if v is None:
        return ""
    return f"{v:,.0f}" if value_format == ",d" else format(v, value_format)


def hbar(
    labels: Sequence[str],
    values: Sequence[float],
    unit: str,
    color: str = PALETTE[0],
    value_format: str = ",d",
    hover_extra: Sequence[str] | None = None,
) -> go.Figure:
    """Horizontal bars, largest first from the top; `unit` is said in the hover and on the axis."""
    extra = list(hover_extra) if hover_extra else [""] * len(labels)
    fig = go.Figure(
        go.Bar(
            y=list(labels),
            x=list(values),
            orientation="h",
            marker_color=color,
            text=[_fmt(v, value_format) for v in values],
            textposition="auto",
            textangle=0,
            customdata=extra,
            hovertemplate=f"%{{y}}: %{{x:{value_format}}} {unit}%{{customdata}}<extra></extra>",
        )
    )
    axis = count_axis(values, unit) if value_format == ",d" else {"title": {"text": unit}}
    if value_format.endswith("%"):
        axis = pct_axis(unit)
    fig.update_layout(xaxis=axis, yaxis={"autorange": "reversed", "automargin": True})
    return fig
