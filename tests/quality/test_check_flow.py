"""The gates through their real callers: dbt source freshness, the Prefect check flow and the CLI."""

from __future__ import annotations

import pytest

from flows.quality.gates import run_raw_gate
from tests.quality.conftest import seed_marts, seed_raw


@pytest.mark.slow
def test_stale_sources_only_warn(quality_settings, warehouse, monkeypatch):
    monkeypatch.setenv("LIFECYCLE_QUALITY_CHECK_SOURCE_FRESHNESS", "true")
    warehouse(seed_raw, "update raw.segment_events set _loaded_at = now()::timestamp - interval 10 day")

    result = run_raw_gate(quality_settings)

    assert result.passed, result.summary_line()
    warned = {f.key: f.message for f in result.warnings}
    assert "raw_freshness.sources_fresh" in warned, warned
    assert "segment_events (error, last load 10 d ago)" in warned["raw_freshness.sources_fresh"]
    assert "sendgrid_events" not in warned["raw_freshness.sources_fresh"]


@pytest.mark.slow
def test_check_flow_and_cli_exit_status(prefect_harness, quality_settings, warehouse, monkeypatch, capsys):
    from flows.cli import main
    from flows.quality.flows import check_flow

    warehouse(seed_raw, seed_marts)

    good = check_flow(quality_settings)
    assert good.passed, str(good)
    assert good.stage == "all"
    assert {"raw_web", "mart_persons"} <= {s.suite for s in good.suite_results}
    assert check_flow(quality_settings, stage="raw").stage == "raw"

    warehouse("insert into marts.dim_persons select * from marts.dim_persons limit 3")
    monkeypatch.setenv("LIFECYCLE_SEGMENTS_FILE", str(quality_settings.segments_file))
    status = main(["check", "--data-dir", str(quality_settings.root)])

    out = capsys.readouterr().out
    assert status == 1
    assert out.startswith(
        "gate all: FAILED mart_persons.one_row_per_person: 3 person_ids appear more than once"
    )
    assert f"data docs: {quality_settings.root / 'quality' / 'data_docs' / 'index.html'}" in out
