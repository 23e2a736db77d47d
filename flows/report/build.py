"""`lifecycle report`: one self-contained HTML file of the KPIs a marketer looks at.

Reads the published marts by default (never blocked by a running pipeline), or the warehouse
when called inside `lifecycle run` (which holds the lock and has just passed the mart gate).
Written to a temporary name and renamed, so a reader never sees half a page.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

import duckdb
import yaml

from flows.errors import LifecycleError
from flows.report import data, panels
from flows.report.charts import Money
from flows.report.page import Panel, controls_html, glossary_html, lift_table_html, page
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
    ("AOV", "Net revenue / orders."),
    ("CAC", "Spend / new customers whose first touch is the channel, per month."),
    ("ROI", "(First-order revenue - spend) / spend, per channel and month."),
    (
        "Predicted 12-month CLV",
        "BG/NBD expected repeat purchases over 52 weeks times Gamma-Gamma mean spend; P(alive) is "
        "the BG/NBD probability the customer is still active.",
    ),
]


def _sla_targets() -> dict[str, int]:
    try:
        cfg = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
        return {k: int(v) for k, v in cfg["vars"]["sla_targets_minutes"].items()}
    except (OSError, KeyError, TypeError, ValueError):
        return dict(data.DEFAULT_SLA)


def _glossary(settings: Settings) -> list[tuple[str, str]]:
    """Metric glossary from the data dir's dbt manifest when one exists; the built-in one otherwise.

    Why not run `dbt parse` for it (as flows.glossary.build_glossary does): the report only reads, and a
    parse costs ~10 s; every build and `lifecycle run` leaves a manifest behind.
    """
    try:
        from flows.glossary import glossary_from_manifest, manifest_path

        g = glossary_from_manifest(json.loads(manifest_path(settings).read_text()))
    except (ImportError, OSError, ValueError):
        return FALLBACK_GLOSSARY
    entries = [(e["name"], e["definition"]) for e in g if e.get("name")]
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


def _lookalikes() -> list[tuple[str, str]]:
    try:
        from flows.glossary import LOOKALIKES
    except ImportError:
        return []
    return list(LOOKALIKES)


def _audiences(settings: Settings) -> list[tuple[str, float]]:
    """The ten largest audiences of the last sync (largest list size per segment)."""
    per_segment: dict[str, float] = {}
    for r in audience_sizes(settings):
        if isinstance(r["rows"], int | float):
            per_segment[r["segment"]] = max(per_segment.get(r["segment"], 0), float(r["rows"]))
    return sorted(per_segment.items(), key=lambda kv: -kv[1])[:10]


def _date_span(m: data.Marts) -> tuple[str | None, str | None]:
    """First and last day of any dated activity: the bounds of the date-range control."""
    days: list[Any] = []
    for table, column in (("fct_orders", "ordered_at"), ("fct_lifecycle_transitions", "transitioned_at")):
        try:
            days += [d for d in m.query(f"select min({column}), max({column}) from {m.table(table)}")[0] if d]
        except (data.NotAvailable, duckdb.Error):
            continue
    if not days:
        return None, None
    return str(min(days))[:10], str(max(days))[:10]


def render_report(con: duckdb.DuckDBPyConnection, settings: Settings, source: Path) -> str:
    """The report HTML for the marts reachable through `con` (plain function: testable)."""
    m = data.Marts(con)
    try:
        code, note = data.currency(m)
    except (data.NotAvailable, duckdb.Error):
        code, note = None, "the orders carry no currency"
    try:
        as_of = data.as_of(m)
    except (data.NotAvailable, duckdb.Error):
        as_of = None
    ctx = panels.Context(m, Money(code), note, as_of)
    try:
        tiles = panels.tiles(ctx)
    except (data.NotAvailable, duckdb.Error) as exc:
        tiles = f'<div class="na">Headline numbers not available: {escape(str(exc))}</div>'

    def lift() -> str:
        return lift_table_html(_live_lift(settings, m), data.lift_verdict, _lift_min_group())

    money = f", in {code}" if code else ""
    sla = _sla_targets()
    page_panels = [
        _panel("Revenue", f"Net revenue from new and returning customers, with AOV{money}",
               lambda: panels.revenue(ctx), wide=True),
        _panel("Channels: spend, CAC and ROI",
               f"Per source, medium and month: spend, new customers, CAC, first-order revenue, ROI{money}",
               lambda: panels.channels(ctx), wide=True),
        _panel("Attribution: first touch against last touch",
               f"Net revenue credited to each channel by the two rules{money}",
               lambda: panels.attribution(ctx)),
        _panel("Lifecycle funnel", "Everyone we know, by the stage they are in today",
               lambda: panels.funnel(ctx)),
        _panel("Leads and lead status", "Leads ever by stage today; the acquisition stage by lead status",
               lambda: panels.leads(ctx), wide=True),
        _panel("Stage flow, last 90 days", "Who moved from which stage to which (Sankey)",
               lambda: panels.stage_sankey(ctx)),
        _panel("Stage flow over time", "People entering each stage, per period",
               lambda: panels.stage_entries(ctx)),
        _panel("Customer lifetime value",
               f"Predicted 12-month CLV, P(alive), and a holdout check of the model{money}",
               lambda: panels.clv(ctx), wide=True),
        _panel("Cohort retention", "Share of each first-order month's customers ordering m months later",
               lambda: panels.cohorts(ctx), wide=True),
        _panel("Email performance by campaign", "Sends, send dates, unique open and click rates",
               lambda: panels.email(ctx), wide=True),
        _panel("Support: SLA and CSAT", "Tickets per week, first-reply SLA breach rate and satisfaction",
               lambda: panels.support(ctx, sla), wide=True),
        _panel("Top segments", "Who the lists and RFM segments hold, largest first",
               lambda: panels.segments(ctx, _audiences(settings)), wide=True),
        _panel("Holdout lift per segment",
               "Did the lists work? Treated minus held-out persons, per entry cohort", lift, wide=True),
        Panel("Metric glossary", "What every number means, and how look-alike numbers differ",
              glossary_html(_glossary(settings), _lookalikes()), wide=True),
    ]  # fmt: skip
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    subtitle = f"Data as of {str(as_of)[:16] if as_of else 'n/a'} · generated {generated}"
    first, last = _date_span(m)
    return page(
        "Customer lifecycle report",
        subtitle,
        tiles,
        page_panels,
        f"Source: {source}",
        controls=controls_html(first, last),
    )


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
