"""GX Data Docs render offline (issue 17 item 5): headless Chromium, every non-file request refused.

A real raw gate run on a small warehouse (tests.quality.conftest's seed_raw) builds the docs; the
index must list the validations with the network off, and no page may ask for anything remote.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from flows.quality.gates import run_raw_gate
from flows.settings import Settings, configure_environment
from flows.warehouse import open_warehouse
from tests.quality.conftest import seed_raw

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]


def test_gx_data_docs_list_the_validations_without_network(tmp_path, monkeypatch) -> None:
    if not CHROMIUM.exists():
        pytest.fail("chromium missing: run `bash scripts/install-test-deps.sh` (make test does)")
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("LIFECYCLE_QUALITY_CHECK_SOURCE_FRESHNESS", "false")
    settings = Settings(data_dir=tmp_path / "data")
    configure_environment(settings)
    with open_warehouse(settings) as con:
        seed_raw(con)
    result = run_raw_gate(settings)
    index = result.data_docs_path
    assert index is not None and index.is_file()
    for page in index.parent.rglob("*.html"):
        assert re.findall(r'<(?:script|link|img)\b[^>]*(?:src|href)="https?://', page.read_text()) == []

    remote: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))

            def refuse(route) -> None:
                if route.request.url.startswith("file:"):
                    route.continue_()
                else:
                    remote.append(route.request.url)
                    route.abort()

            page.route("**/*", refuse)
            page.goto(index.as_uri())
            page.wait_for_load_state("load")
            # bootstrap-table (jQuery) fills the validation list from the page's data: rows appear
            # only when the scripts ran.
            page.wait_for_selector("table tbody tr td", timeout=15000)
            rows = page.eval_on_selector_all("table tbody tr", "rs => rs.map(r => r.innerText)")
        finally:
            browser.close()
    assert remote == []
    assert errors == []
    assert any("raw_web" in r for r in rows), rows
