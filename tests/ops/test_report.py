"""The KPI report: one self-contained HTML file, charts drawn, graceful when a mart is missing.

The browser test opens it in Debian's headless Chromium (installed by scripts/install-test-deps.sh)
through Playwright: the page renders, the charts carry marks, the console has no errors, and a
screenshot is written.
"""

from __future__ import annotations

import json
import re
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


def _write_manifest(settings, segment: str, rows: int) -> None:
    d = settings.outbound_dir / "file" / segment
    d.mkdir(parents=True)
    (d / "manifest.json").write_text(json.dumps({"segment": segment, "row_counts": {"latest": rows}}))


def test_report_is_self_contained_with_every_panel(marts_settings) -> None:
    _write_manifest(marts_settings, "win_back", 42)
    _write_manifest(marts_settings, "vip", 17)
    path = build_report(marts_settings)
    html = path.read_text()
    assert path == marts_settings.reports_dir / "index.html"
    # Nothing fetched: no external scripts, stylesheets, images or fonts.
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "<script" not in html
    for title in (
        "Lifecycle funnel",
        "Stage flow over time",
        "Cohort retention",
        "Email performance by campaign",
        "Support: SLA and CSAT",
        "Top segments",
        "Metric glossary",
    ):
        assert f'data-panel="{title}" data-state="ok"' in html, title
    assert "win_back: 42" in html


def test_missing_mart_gives_a_not_available_panel(marts_settings) -> None:
    con = duckdb.connect(str(marts_settings.warehouse_path))
    con.execute("drop table marts.fct_tickets")
    con.close()
    html = build_report(marts_settings).read_text()
    assert 'data-panel="Support: SLA and CSAT" data-state="not-available"' in html
    assert "table fct_tickets is not in the warehouse" in html
    assert 'data-panel="Lifecycle funnel" data-state="ok"' in html


def test_report_prefers_the_published_file(marts_settings) -> None:
    from flows.publish import publish_marts

    publish_marts(marts_settings)
    html = build_report(marts_settings).read_text()
    assert f"Source: {marts_settings.published_path}" in html
    assert 'data-panel="Lifecycle funnel" data-state="ok"' in html


def test_report_renders_in_headless_chromium(marts_settings, tmp_path) -> None:
    if not CHROMIUM.exists():
        pytest.fail("chromium missing: run `bash scripts/install-test-deps.sh` (make test does)")
    from playwright.sync_api import sync_playwright

    _write_manifest(marts_settings, "upsell", 120)
    path = build_report(marts_settings)
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
            marks = page.eval_on_selector_all(
                "svg.chart", "els => els.map(e => e.querySelectorAll('.mark').length)"
            )
            sizes = page.eval_on_selector_all(
                "svg.chart",
                "els => els.map(e => e.getBoundingClientRect().width * e.getBoundingClientRect().height)",
            )
            assert page.title() == "Customer lifecycle report"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert errors == []
    assert len(marks) >= 7 and all(n > 0 for n in marks), marks
    assert all(s > 1000 for s in sizes), sizes  # laid out with a visible size
    assert shot.stat().st_size > 20_000
