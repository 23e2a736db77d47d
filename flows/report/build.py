"""`lifecycle report`: one self-contained HTML file of the KPIs a marketer looks at.

Reads the published marts by default (never blocked by a running pipeline), or the warehouse
when called inside `lifecycle run` (which holds the lock and has just passed the mart gate).
Written to a temporary name and renamed, so a reader never sees half a page.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import yaml

from flows.errors import LifecycleError
from flows.report import data
from flows.report.page import Panel, glossary_html, lift_table_html, page, tiles_html
from flows.report.svg import (
    STAGE_COLORS,
    fmt_num,
    fmt_pct,
    funnel_chart,
    hbar_chart,
    heatmap,
    line_chart,
    stacked_bars,
)
from flows.settings import DBT_PROJECT_DIR, Settings
from flows.summary import audience_sizes
from flows.warehouse import open_for_read

# Used when the glossary module (flows.glossary) is not available; the SPEC section 7 wording.
FALLBACK_GLOSSARY = [
    (
        "Lifecycle stage",
        "Where a person is as of the latest data: reach, acquisition (lead), conversion (1 order), "
        "retention (2-3 orders), loyalty (4+), at risk (no order for 90-180 days), churned (180+ days).",
    ),
    ("Visitors", "Distinct persons with a web visit in the period."),
    ("New leads", "Persons who entered the acquisition stage in the period (email known or a lead signal)."),
    ("New customers", "Persons whose first order falls in the period."),
    (
        "Cohort retention",
        "Share of customers whose first order was in the cohort month who ordered again m months later.",
    ),
    ("Open rate", "Unique opens / delivered emails, per campaign."),
    ("Click rate", "Unique clicks / delivered emails, per campaign."),
    (
        "SLA breach rate",
        "Tickets whose first reply exceeded the target for their priority (urgent 1h, high 4h, "
        "normal 24h, low 48h) / tickets with a first reply.",
    ),
    ("CSAT", "Good ratings / (good + bad ratings)."),
    ("Net revenue", "Order totals minus refunds."),
]


def _sla_targets() -> dict[str, int]:
    try:
        cfg = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
        return {k: int(v) for k, v in cfg["vars"]["sla_targets_minutes"].items()}
    except (OSError, KeyError, TypeError, ValueError):
        return dict(data.DEFAULT_SLA)


def _glossary(settings: Settings) -> list[tuple[str, str]]:
    """Metric glossary from flows.glossary when present; the built-in one otherwise."""
    try:
        from flows.glossary import build_glossary
    except ImportError:
        return FALLBACK_GLOSSARY
    try:
        g: Any = build_glossary(settings)
    except Exception:
        return FALLBACK_GLOSSARY
    entries: list[tuple[str, str]] = []
    if isinstance(g, dict):
        g = [{"name": k, "definition": v} for k, v in g.items()]
    for item in g or []:
        if isinstance(item, dict):
            name = item.get("label") or item.get("name") or item.get("metric") or item.get("term")
            text = item.get("definition") or item.get("description") or ""
        elif isinstance(item, tuple | list) and len(item) >= 2:
            name, text = item[0], item[1]
        else:
            name, text = (
                getattr(item, "name", None),
                getattr(item, "definition", "") or getattr(item, "description", ""),
            )
        if name:
            entries.append((str(name), str(text)))
    # One entry per term: several marts define the same metric the same way.
    seen: set[str] = set()
    unique = [(n, t) for n, t in entries if not (n.lower() in seen or seen.add(n.lower()))]
    return unique or FALLBACK_GLOSSARY


def _panel(title: str, subtitle: str, render: Callable[[], str], wide: bool = False) -> Panel:
    try:
        return Panel(title, subtitle, render(), wide=wide)
    except data.NotAvailable as exc:
        return Panel(title, subtitle, None, str(exc), wide=wide)
    except duckdb.Error as exc:
        return Panel(title, subtitle, None, f"query failed: {str(exc).splitlines()[0]}", wide=wide)


def _lift_min_group() -> int:
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    return int((project.get("vars") or {}).get("lift_min_group_size", 30))


def _live_lift(settings: Settings, m: data.Marts) -> dict[str, list[dict[str, Any]]]:
    """Lift from the warehouse's mart_segment_lift view when readable (it already holds the sync
    that ran after publishing), else from the report's own source."""
    if settings.warehouse_path.exists():
        try:
            con = open_for_read(settings.warehouse_path)
        except duckdb.Error:
            con = None
        if con is not None:
            try:
                return data.segment_lift(data.Marts(con))
            except (data.NotAvailable, duckdb.Error):
                pass
            finally:
                con.close()
    return data.segment_lift(m)


def render_report(con: duckdb.DuckDBPyConnection, settings: Settings, source: Path) -> str:
    """The report HTML for the marts reachable through `con` (plain function: testable)."""
    m = data.Marts(con)
    try:
        h = data.headline(m)
        as_of = h["as_of"]
        tiles = tiles_html(
            [
                ("persons", fmt_num(h["persons"])),
                ("leads", fmt_num(h["leads"])),
                ("customers", fmt_num(h["customers"])),
                ("net revenue", fmt_num(h["net_revenue"])),
                ("data as of", str(as_of)[:10] if as_of else "n/a"),
            ]
        )
    except (data.NotAvailable, duckdb.Error) as exc:
        as_of = None
        tiles = f'<div class="na">Headline numbers not available: {exc}</div>'

    def funnel() -> str:
        return funnel_chart(data.stage_counts(m), "lifecycle funnel")

    def flow() -> str:
        periods, series, grain = data.stage_flow(m)
        return stacked_bars(periods, series, f"stage entries per {grain}", colors=STAGE_COLORS, width=1100)

    def cohorts() -> str:
        cells = data.cohort_retention(m)
        if not cells:
            raise data.NotAvailable("no orders yet")
        rows = sorted({c for c, _ in cells})
        cols = [str(k) for k in sorted({int(k) for _, k in cells})]
        return heatmap(rows, cols, cells, "cohort retention")

    def email() -> str:
        rows = data.email_by_campaign(m)
        opens = hbar_chart([(r["campaign"], r["open_rate"]) for r in rows], "open rate by campaign", fmt_pct)
        clicks = hbar_chart(
            [(r["campaign"], r["click_rate"]) for r in rows],
            "click rate by campaign",
            fmt_pct,
            ["#0ea5e9"] * len(rows),
        )
        return (
            f'<div class="pair"><div><h3>Open rate</h3>{opens}</div>'
            f"<div><h3>Click rate</h3>{clicks}</div></div>"
        )

    def support() -> str:
        s = data.support_trends(m, _sla_targets())
        rates = line_chart(
            s["weeks"],
            {"SLA breach rate": s["breach_rate"], "CSAT": s["csat"]},
            "support SLA and CSAT",
            vmax=1.0,
        )
        volume = stacked_bars(
            s["weeks"], {"tickets created": s["created"]}, "tickets created per week", height=180
        )
        heading = "<h3>Tickets created per week</h3>"
        return f"{rates}{heading}{volume}"

    def segments() -> str:
        """Audience sizes from the last sync, and RFM segments; either may be missing, not both."""
        parts, reasons = [], []
        per_segment: dict[str, float] = {}
        for r in audience_sizes(settings):
            if isinstance(r["rows"], int | float):
                per_segment[r["segment"]] = max(per_segment.get(r["segment"], 0), float(r["rows"]))
        top = sorted(per_segment.items(), key=lambda kv: -kv[1])[:10]
        if top:
            chart = hbar_chart(top, "audience sizes", colors=["#10b981"] * len(top))
            parts.append(f"<h3>Audiences (people per list)</h3>{chart}")
        else:
            reasons.append("no audiences synced yet (run `lifecycle sync`)")
        try:
            rfm = data.rfm_segments(m)[:10]
            chart = hbar_chart(rfm, "RFM segments", colors=["#8b5cf6"] * len(rfm))
            parts.append(f"<h3>RFM segments (customers)</h3>{chart}")
        except (data.NotAvailable, duckdb.Error) as exc:
            reasons.append(str(exc).splitlines()[0])
        if not parts:
            raise data.NotAvailable("; ".join(reasons))
        return "".join(parts)

    def lift() -> str:
        return lift_table_html(_live_lift(settings, m), data.lift_verdict, _lift_min_group())

    panels = [
        _panel("Lifecycle funnel", "Everyone we know, by the stage they are in today", funnel),
        _panel("Top segments", "Who the lists and RFM segments hold, largest first", segments),
        _panel("Stage flow over time", "People entering each stage, per period", flow, wide=True),
        _panel(
            "Cohort retention", "Share of each first-order month's customers ordering m months later", cohorts
        ),
        _panel(
            "Support: SLA and CSAT", "Weekly first-reply SLA breach rate and customer satisfaction", support
        ),
        _panel(
            "Email performance by campaign",
            "Unique open and click rates per delivered email",
            email,
            wide=True,
        ),
        _panel(
            "Holdout lift per segment",
            "Did the lists work? Treated minus held-out persons, per entry cohort",
            lift,
            wide=True,
        ),
        Panel("Metric glossary", "What every number means", glossary_html(_glossary(settings)), wide=True),
    ]
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    subtitle = f"Data as of {str(as_of)[:16] if as_of else 'n/a'} · generated {generated}"
    return page("Customer lifecycle report", subtitle, tiles, panels, f"Source: {source}")


def build_report(settings: Settings, source: Path | None = None) -> Path:
    """Write DIR/reports/index.html from `source` (default: the published marts, else the warehouse)."""
    if source is None:
        source = settings.published_path if settings.published_path.exists() else settings.warehouse_path
    if not Path(source).exists():
        raise LifecycleError(
            f"no marts to report on: {source} does not exist", hint="run `lifecycle run` first"
        )
    try:
        con = open_for_read(Path(source))
    except duckdb.IOException as exc:
        raise LifecycleError(
            f"cannot read {source} (a pipeline run is writing it)",
            hint="wait for the run to finish; reports read the published marts once one exists",
        ) from exc
    try:
        html = render_report(con, settings, Path(source))
    finally:
        con.close()
    settings.reports_dir.mkdir(parents=True, exist_ok=True)
    out = settings.reports_dir / "index.html"
    tmp = out.with_name(f".index.html.{os.getpid()}.tmp")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, out)
    return out
