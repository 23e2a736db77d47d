"""dbt's environment is scoped to the call (issue 21 item 5): pointing dbt at one data dir (a replay's,
a test's copy) leaves the caller's environment as it was, and dbt's log goes to that data dir."""

from __future__ import annotations

import os

from flows.settings import Settings, configure_environment
from flows.transform.dbt import run_dbt

ELSEWHERE = "/elsewhere/warehouse.duckdb"


def test_configure_environment_puts_back_what_it_changed(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("LIFECYCLE_WAREHOUSE", ELSEWHERE)
    monkeypatch.delenv("LIFECYCLE_DATA_DIR", raising=False)
    s = Settings(data_dir=tmp_path / "d")
    with configure_environment(s):
        assert os.environ["LIFECYCLE_WAREHOUSE"] == str(s.warehouse_path)
        assert os.environ["LIFECYCLE_DATA_DIR"] == str(s.root)
    assert os.environ["LIFECYCLE_WAREHOUSE"] == ELSEWHERE
    assert "LIFECYCLE_DATA_DIR" not in os.environ


def test_a_dbt_call_leaves_the_callers_environment_and_logs_in_its_data_dir(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("LIFECYCLE_WAREHOUSE", ELSEWHERE)
    monkeypatch.delenv("DBT_LOG_PATH", raising=False)
    s = Settings(data_dir=tmp_path / "d")
    run_dbt(s, ["parse"])
    assert os.environ["LIFECYCLE_WAREHOUSE"] == ELSEWHERE
    assert "DBT_LOG_PATH" not in os.environ
    assert (s.root / "dbt_logs" / "dbt.log").is_file()
    assert (s.dbt_target_dir / "manifest.json").is_file()
