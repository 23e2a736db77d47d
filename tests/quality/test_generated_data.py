"""The gates against the real chain: generated data -> ingest -> dbt build (session fixture).

Good generated data, dirt included, must pass both gates: the dirt the generator injects is what the
pipeline is built to absorb (quarantine, placeholders), so a failure here is a false alarm to fix.
"""

from __future__ import annotations

import shutil

import pytest

from flows.quality.gates import run_mart_gate, run_raw_gate
from flows.settings import Settings, configure_environment


@pytest.mark.slow
def test_generated_data_passes_both_gates(built_warehouse, tmp_path, monkeypatch):
    monkeypatch.setenv("LIFECYCLE_QUALITY_CHECK_SOURCE_FRESHNESS", "false")
    copy = Settings(data_dir=tmp_path / "data")  # the gates write quality.*: never into the shared fixture
    copy.root.mkdir(parents=True)
    # dbt ran in this process and may not have checkpointed yet: the WAL holds the newest tables.
    for suffix in ("", ".wal"):
        source = built_warehouse.warehouse_path.with_name(built_warehouse.warehouse_path.name + suffix)
        if source.is_file():
            shutil.copy(source, copy.warehouse_path.with_name(copy.warehouse_path.name + suffix))
    if (built_warehouse.dbt_target_dir / "run_results.json").is_file():
        copy.dbt_target_dir.mkdir()
        shutil.copy(built_warehouse.dbt_target_dir / "run_results.json", copy.dbt_target_dir)
    configure_environment(copy)

    raw = run_raw_gate(copy)
    mart = run_mart_gate(copy)

    assert raw.passed, str(raw)
    assert mart.passed, str(mart)
    # The shipped segments.yml was computed and checked, not skipped.
    audiences = next(s for s in mart.suite_results if s.suite == "mart_audiences")
    assert any(f.check.endswith(".no_suppressed_emails") for f in audiences.findings)
