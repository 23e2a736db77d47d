"""Plain (non-Prefect) dbt invocation against the warehouse of one data dir.

Target and log paths live in the data dir, so two data dirs (tests, a demo, a serve loop) never
share dbt's partial-parse state or artifacts.
"""

from __future__ import annotations

import json
from typing import Any

from flows.errors import LifecycleError
from flows.settings import DBT_PROJECT_DIR, Settings, configure_environment


def dbt_args(settings: Settings, command: list[str], vars: dict[str, Any] | None = None) -> list[str]:
    args = [
        *command,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(settings.dbt_target_dir),
        "--log-path",
        str(settings.root / "dbt_logs"),
    ]
    if vars:
        args += ["--vars", json.dumps(vars, default=str)]
    return args


def run_dbt(settings: Settings, command: list[str], vars: dict[str, Any] | None = None) -> Any:
    """Invoke dbt in-process; raises LifecycleError naming the failed nodes when it fails."""
    from dbt.cli.main import dbtRunner

    # The profile reads LIFECYCLE_WAREHOUSE: pointed at this data dir for the call, then put back.
    with configure_environment(settings):
        try:
            result = dbtRunner().invoke(dbt_args(settings, command, vars))
        finally:
            # dbt-duckdb keeps the warehouse open in a class attribute after invoke; close it so the
            # file is checkpointed (no pending WAL) and other processes and copies see the whole build.
            release_dbt_duckdb()
    if result.exception is not None:
        raise LifecycleError(f"dbt {command[0]} crashed: {result.exception}")
    if not result.success:
        failed = []
        for r in getattr(result.result, "results", None) or []:
            status = str(getattr(r, "status", ""))
            if status in ("error", "fail", "runtime error"):
                failed.append(f"{r.node.name} ({status})")
        raise LifecycleError(
            f"dbt {command[0]} failed: {', '.join(failed[:10]) or 'see dbt logs'}",
            hint=f"logs in {settings.root / 'dbt_logs'}",
        )
    return result


def release_dbt_duckdb() -> None:
    """Drop dbt-duckdb's process-wide DuckDB environment before the interpreter exits.

    dbt-duckdb keeps the DuckDB handle in a class attribute; left alive until interpreter teardown,
    duckdb 2.0's nanobind bindings print dozens of "leaked instance" lines on every CLI exit.
    """
    import contextlib
    import gc
    import sys

    module = sys.modules.get("dbt.adapters.duckdb.connections")
    if module is None:
        return
    manager = module.DuckDBConnectionManager
    env = getattr(manager, "_ENV", None)
    if env is not None:
        with contextlib.suppress(Exception):  # best effort: the process is ending anyway
            env.close()
    manager.close_all_connections()
    gc.collect()
