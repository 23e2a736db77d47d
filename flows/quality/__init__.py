"""Data quality gates (issue 6): Great Expectations suites from expectations/ decide whether a run may
publish and sync. `gates.run_raw_gate` / `gates.run_mart_gate` are plain functions; `flows.check_flow`
wraps them for Prefect."""
