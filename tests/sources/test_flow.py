"""The Prefect flow wires the same functions: per-source summary table, API mode included."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from flows.settings import Settings

from .conftest import query, seg, sg, write_json, write_jsonl
from .test_zendesk_api import EMAIL, TOKEN, FakeZendesk


@pytest.mark.slow
def test_ingest_flow_all_sources_with_api(prefect_harness, settings, raw):
    from flows.sources.flows import ingest_flow

    write_jsonl(raw / "web" / "d1.jsonl", [seg(1), seg(2), seg(2), "not json"])
    write_json(raw / "email" / "post.json", [sg(1), sg(2)])
    (raw / "spend").mkdir()
    (raw / "spend" / "s.csv").write_text(
        "date,source,medium,campaign,spend,currency\n2026-01-01,g,cpc,a,1,USD\n"
    )
    with FakeZendesk() as server:
        api_settings = Settings(
            data_dir=settings.data_dir,
            zendesk_base_url=server.url,
            zendesk_email=EMAIL,
            zendesk_api_token=SecretStr(TOKEN),
        )
        summary = ingest_flow(api_settings, source="all", api=True)
    rows = {r["source"]: r for r in summary.to_rows()}
    assert (rows["web"]["files"], rows["web"]["rows"], rows["web"]["duplicates"], rows["web"]["rejects"]) == (
        1,
        2,
        1,
        1,
    )
    assert rows["email"]["rows"] == 2 and rows["spend"]["rows"] == 1
    assert rows["tickets"]["rows"] == 6  # API pages
    assert summary.total_rejects == 1
    text = str(summary)
    assert text.splitlines()[0].split() == ["source", "files", "rows", "duplicates", "rejects"]
    assert "total" in text
    assert query(api_settings, "select count(*) from raw.zendesk_tickets") == [(6,)]
    again = ingest_flow(api_settings, source="web")
    assert again.total_files == 0
