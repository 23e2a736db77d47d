"""The KPI report: one self-contained HTML file, Plotly charts drawn offline, honest periods.

The browser test opens it as a marketer would, in Debian's headless Chromium (installed by
scripts/install-test-deps.sh) through Playwright: the page renders, every chart carries data marks,
the console has no errors, nothing is fetched, the date-range control changes what the time series
show, and a screenshot is written.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from flows.report import build_report

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PANELS = (
    "Revenue",
    "Channels: spend, CAC and ROI",
    "Attribution: first touch against last touch",
    "Lifecycle funnel",
    "Leads and lead status",
    "Stage flow, last 90 days",
    "Stage flow over time",
    "Customer lifetime value",
    "Cohort retention",
    "Email performance by campaign",
    "Support: SLA and CSAT",
    "Top segments",
    "Metric glossary",
)
# The KPI marts the core fixture (tests/ops/marts_fixture.py) does not build, shaped like their
# dbt contracts (dbt_project/models/marts/kpi/_*.yml), so every panel has data.
KPI_MARTS_SQL = """
alter table marts.fct_orders add column currency varchar default 'EUR';
alter table marts.dim_persons add column lead_status varchar;
update marts.dim_persons set lead_status = ['qualified', 'contacted', 'open'][1 + (hash(person_id) % 3)::int]
  where lifecycle_stage = 'acquisition';
create table marts.mart_cac_monthly as
select cast(m as date) as month, s as source, md as medium, cast(10 + 5 * i as decimal(18,2)) as spend,
       (i % 4)::bigint as new_customers, (10 + 5 * i) / nullif(i % 4, 0) as cac
from (select unnest(range(timestamp '2026-01-01', timestamp '2026-07-01', interval 1 month)) as m),
     (values ('google', 'cpc', 1), ('facebook', 'paid_social', 2)) t(s, md, i);
create table marts.mart_attribution_first_touch as
select month, source, medium, 'spring' as campaign, new_customers + 2 as new_leads, new_customers,
       cast(45 * new_customers as decimal(18,2)) as first_order_revenue,
       cast(70 * new_customers as decimal(18,2)) as customer_net_revenue
from marts.mart_cac_monthly;
create table marts.mart_attribution_last_touch_monthly as
select month, source, medium, 'spring' as campaign, new_customers + 1 as orders,
       new_customers as first_orders,
       cast(50 * (new_customers + 1) as decimal(18,2)) as net_revenue
from marts.mart_cac_monthly;
create table marts.clv_predictions as
select person_id, 0.2 + (hash(person_id) % 80) / 100 as prob_alive,
       50 + (hash(person_id) % 300)::double as predicted_clv_12m, 'bgnbd' as purchases_method
from marts.dim_persons where order_count > 0;
create table marts.mart_clv_backtest as
select b as bucket, o::bigint as bucket_order, (40 - 5 * o)::bigint as customers,
       (10.0 + o) as actual_repeat_purchases, (11.0 + o) as predicted_repeat_purchases,
       (10.0 + o) / (40 - 5 * o) as actual_per_customer, (11.0 + o) / (40 - 5 * o) as predicted_per_customer,
       1.0 / (10 + o) as error_pct, 0.4 as mean_abs_error_per_customer,
       500.0 as actual_holdout_revenue, 530.0 as predicted_holdout_revenue, 0.06 as revenue_error_pct,
       timestamp '2026-01-01' as cutoff_at, timestamp '2026-06-30 12:00:00' as as_of, 26.0 as holdout_weeks,
       30.0 as calibration_weeks, true as bgnbd_used, true as gg_used, 'ok' as fit_status
from (values ('0', 0), ('1', 1), ('2', 2), ('all', 8)) t(b, o);
"""


@pytest.fixture
def kpi_settings(marts_settings):
    """The core fixture warehouse plus the KPI marts the report's money panels read."""
    con = duckdb.connect(str(marts_settings.warehouse_path))
    try:
        con.execute(KPI_MARTS_SQL)
    finally:
        con.close()
    return marts_settings


def _write_manifest(settings, segment: str, rows: int) -> None:
    d = settings.outbound_dir / "file" / segment
    d.mkdir(parents=True)
    (d / "manifest.json").write_text(json.dumps({"segment": segment, "row_counts": {"latest": rows}}))


def _panel(html: str, title: str) -> str:
    part = html[html.index(f'data-panel="{title}"') :]
    return part[: part.index("</section>")]


def _specs(html: str) -> dict[str, dict]:
    """Chart name -> its Plotly figure JSON, as embedded in the page."""
    pattern = r'<div class="chart" id="([^"]+)" data-chart="([^"]*)".*?data-for="\1">(.*?)</script>'
    found = re.findall(pattern, html)
    return {name: json.loads(spec.replace("<\\/", "</")) for _, name, spec in found}


def test_report_is_self_contained_with_every_panel(kpi_settings) -> None:
    _write_manifest(kpi_settings, "win_back", 42)
    _write_manifest(kpi_settings, "vip", 17)
    path = build_report(kpi_settings)
    html = path.read_text()
    assert path == kpi_settings.reports_dir / "index.html"
    # plotly.js inlined exactly once; nothing external: no script src, stylesheet, image or font.
    from plotly.offline import get_plotlyjs

    assert html.count(get_plotlyjs()) == 1
    assert html.count("* plotly.js v") == 1
    page_only = html.replace(get_plotlyjs(), "")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page_only)
    assert not re.search(r"<script[^>]*\ssrc=", page_only)
    for title in PANELS:
        assert f'data-panel="{title}" data-state="ok"' in html, title
    specs = _specs(html)
    assert specs["audiences"]["data"][0]["y"] == ["win_back", "vip"]
    # Currency from the data: the fixture's orders are in EUR.
    assert "€" in _panel(html, "Revenue") or specs["revenue"]["layout"]["yaxis"]["tickprefix"] == "€"
    assert "Amounts: all orders are in EUR" in html
    # Counts get whole-number ticks, not 1.8 / 3.5 tickets.
    assert specs["tickets"]["layout"]["yaxis"]["tickformat"] == ",d"
    # The CLV panel shows the backtest mart with its error.
    clv = _panel(html, "Customer lifetime value")
    assert "marts.mart_clv_backtest" in clv and "repeat purchases" in clv and "error 6%" in clv
    # The glossary explains numbers that look alike.
    glossary = _panel(html, "Metric glossary")
    assert "Leads (ever) vs the acquisition stage" in glossary
    leads = _panel(html, "Leads and lead status")
    assert "leads ever" in leads and "in the acquisition stage now" in leads


def test_channel_table_has_cac_and_roi_per_month(kpi_settings) -> None:
    from flows.report import data

    con = duckdb.connect(str(kpi_settings.warehouse_path), read_only=True)
    try:
        rows = data.channel_economics(data.Marts(con))
    finally:
        con.close()
    google_feb = next(r for r in rows if r["source"] == "google" and r["month"] == date(2026, 2, 1))
    assert google_feb["spend"] == 15 and google_feb["new_customers"] == 1
    assert google_feb["cac"] == 15 and google_feb["roi"] == pytest.approx((45 - 15) / 15)
    jan = next(r for r in rows if r["source"] == "facebook" and r["month"] == date(2026, 1, 1))
    assert jan["cac"] == 20 / 2  # 20 spend / 2 new customers


def test_partial_periods_and_same_day_comparison() -> None:
    from flows.report import data

    as_of = datetime(2026, 12, 2, 22, 0)
    assert data.partial_days(date(2026, 12, 1), "month", as_of) == (2, 31)
    assert data.partial_days(date(2026, 11, 30), "week", as_of) == (3, 7)
    assert data.partial_days(date(2026, 11, 1), "month", as_of) is None
    days = {date(2026, 11, d): {"net_revenue": 10.0, "orders": 1.0} for d in range(1, 31)}
    window = data._window(days, date(2026, 11, 1), date(2026, 11, 3))
    assert window["net_revenue"] == 20 and window["aov"] == 10


def test_small_numbers_are_greyed_and_partial_periods_marked(marts_settings) -> None:
    html = build_report(marts_settings).read_text()
    specs = _specs(html)
    names = [t.get("name") for t in specs["support rates"]["data"]]
    assert "CSAT, under 10 ratings" in names  # the fixture's weeks have a few ratings each
    thin = next(t for t in specs["support rates"]["data"] if t.get("name") == "CSAT, under 10 ratings")
    assert any(v is not None for v in thin["y"])
    support = _panel(html, "Support: SLA and CSAT")
    assert "fewer than 10 ratings" in support


def test_missing_mart_gives_a_not_available_panel(marts_settings) -> None:
    con = duckdb.connect(str(marts_settings.warehouse_path))
    con.execute("drop table marts.fct_tickets")
    con.close()
    html = build_report(marts_settings).read_text()
    assert 'data-panel="Support: SLA and CSAT" data-state="not-available"' in html
    assert "table fct_tickets is not in the warehouse" in html
    assert 'data-panel="Lifecycle funnel" data-state="ok"' in html
    # Without the KPI marts the money panels say what is missing instead of failing the page.
    assert "table mart_cac_monthly is not in the warehouse" in html


def test_report_prefers_the_published_file(marts_settings) -> None:
    from flows.publish import publish_marts

    publish_marts(marts_settings)
    html = build_report(marts_settings).read_text()
    assert f"Source: {marts_settings.published_path}" in html
    assert 'data-panel="Lifecycle funnel" data-state="ok"' in html


MARKS = (
    ".barlayer path, .scatterlayer path.point, .scatterlayer path.js-line, "
    ".heatmaplayer image, .sankey-link, .sankey .node-rect"
)
TS_RANGES = (
    "() => [...document.querySelectorAll('.chart[data-timeseries]')]"
    ".map(c => [c.dataset.chart, c.layout.xaxis.range.map(String)])"
)


def _days(ranges: dict[str, list[str]]) -> dict[str, list[str]]:
    return {name: [v[:10] for v in r] for name, r in ranges.items()}


def test_report_renders_in_headless_chromium(kpi_settings, tmp_path) -> None:
    if not CHROMIUM.exists():
        pytest.fail("chromium missing: run `bash scripts/install-test-deps.sh` (make test does)")
    from playwright.sync_api import sync_playwright

    _write_manifest(kpi_settings, "upsell", 120)
    path = build_report(kpi_settings)
    shot = tmp_path / "report.png"
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on(
                "request",
                lambda r: errors.append(f"fetched {r.url}") if not r.url.startswith("file:") else None,
            )
            page.goto(path.as_uri())
            page.wait_for_load_state("load")
            assert page.title() == "Customer lifecycle report"
            charts = page.eval_on_selector_all(
                ".chart",
                f"els => els.map(e => [e.dataset.chart, e.classList.contains('js-plotly-plot'), "
                f"e.querySelectorAll({MARKS!r}).length, e.getBoundingClientRect().width * "
                "e.getBoundingClientRect().height])",
            )
            before = dict(page.evaluate(TS_RANGES))
            page.screenshot(path=str(shot), full_page=True)

            # The date control: "last 90 days" narrows every time series to the 90 days up to the end.
            page.click('#date-range button[data-days="90"]')
            page.wait_for_function("document.body.dataset.range && document.body.dataset.range !== 'all'")
            after = dict(page.evaluate(TS_RANGES))
            picked = page.input_value("#range-from"), page.input_value("#range-to")
            page.fill("#range-from", "2026-03-01")
            page.dispatch_event("#range-from", "change")
            typed = dict(page.evaluate(TS_RANGES))
            page.click('#date-range button[data-days="all"]')
            page.wait_for_function("document.body.dataset.range === 'all'")
            reset = dict(page.evaluate(TS_RANGES))
        finally:
            browser.close()
    assert errors == []
    assert len(charts) >= 15, charts
    for name, drawn, marks, area in charts:
        assert drawn and marks > 0 and area > 10_000, (name, drawn, marks, area)
    assert {"revenue", "cac", "stage entries", "tickets", "support rates"} <= set(before)
    end = date.fromisoformat(picked[1])
    assert (end - date.fromisoformat(picked[0])).days == 90
    for name, (lo, hi) in after.items():
        assert lo[:10] == picked[0] and hi[:10] >= picked[1], name  # the end is padded a little
        assert (lo, hi) != tuple(before[name]), name
    assert all(lo[:10] == "2026-03-01" for lo, _ in typed.values()), typed
    assert _days(reset) == _days(before)  # "all" gives back the full autorange
    assert shot.stat().st_size > 20_000
    if target := os.environ.get("LIFECYCLE_REPORT_SCREENSHOT"):  # to refresh a copy by hand
        shutil.copy(shot, target)
