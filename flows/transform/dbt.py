"""Plain (non-Prefect) dbt invocation against the warehouse of one data dir.

Target and log paths live in the data dir, so two data dirs (tests, a demo, a serve loop) never
share dbt's artifacts (run_results, manifest.json, compiled SQL). What they do share is the parsed
project (`parsed_manifest`): parsing is the same work for every data dir.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from flows.errors import LifecycleError
from flows.settings import DBT_PROJECT_DIR, Settings, configure_environment

# dbt's partial-parse state for the default (DuckDB) target, shared by every data dir of this
# checkout. Under dbt's own target dir, so `make clean` and `dbt clean` remove it.
PARSE_CACHE_DIR = DBT_PROJECT_DIR / "target" / "parse-cache"
# Commands that parse for their own sake or never need a manifest: they keep dbt's own path.
_OWN_PARSE = {"parse", "deps", "clean", "debug", "init"}


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
    result = invoke_dbt(settings, command, vars)
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


def invoke_dbt(
    settings: Settings,
    command: list[str],
    vars: dict[str, Any] | None = None,
    callbacks: list[Callable[[Any], None]] | None = None,
    extra: list[str] | None = None,
) -> Any:
    """One in-process dbt invocation for this data dir, on the shared parsed project when possible.

    The profile reads LIFECYCLE_WAREHOUSE: pointed at this data dir for the call, then put back.
    Returns dbt's own result object (success, exception, result); callers judge it.
    """
    from dbt.cli.main import dbtRunner

    with configure_environment(settings):
        try:
            manifest = parsed_manifest(settings, command, vars)
            runner = dbtRunner(manifest=manifest, callbacks=callbacks or [])
            return runner.invoke([*dbt_args(settings, command, vars), *(extra or [])])
        finally:
            # dbt-duckdb keeps the warehouse open in a class attribute after invoke; close it so the
            # file is checkpointed (no pending WAL) and other processes and copies see the whole build.
            release_dbt_duckdb()


def parsed_manifest(settings: Settings, command: list[str], vars: dict[str, Any] | None = None) -> Any:
    """The project's parsed manifest from a parse cache shared by data dirs, or None to let dbt parse.

    Why: dbt's partial parsing keys its saved state on the profile's connection values, and the
    DuckDB path differs for every data dir, so each new data dir (a test, a replay, a fresh demo)
    paid a full parse of ~400 nodes and ~640 macros: 8-10 s of CPU, more than a tiny build's SQL.
    The parse itself does not depend on the path (no model reads it; `database` is the file's stem),
    so one saved state per (checkout, dbt version, vars, warehouse file name) serves every data dir:
    dbt parses against a fixed placeholder path there, partially when files changed, and the real
    command runs on the resulting manifest (`dbtRunner(manifest=...)`, dbt's documented way to reuse
    a parse). Other targets (PostgreSQL, Spark) and dbt's own `parse` keep dbt's own path, and any
    failure here (a read-only install, a project that does not parse) falls back to it, so dbt
    reports parse errors the usual way. An exclusive lock serialises writers of one cache entry;
    dbt ignores a torn state file (a kill -9 mid-write) and parses in full.
    """
    if not settings.dbt_parse_cache or not command or command[0] in _OWN_PARSE or "--target" in command:
        return None
    from dbt.cli.main import dbtRunner

    entry = parse_cache_entry(settings, vars)
    vars_json = json.dumps(vars or {}, sort_keys=True, default=str)
    stem = settings.warehouse_path.stem
    args = [
        "parse",
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(entry),
        "--log-path",
        str(settings.root / "dbt_logs"),
        "--no-write-json",
        "--log-level",
        "none",
    ]
    if vars:
        args += ["--vars", vars_json]
    try:
        entry.mkdir(parents=True, exist_ok=True)
        with _exclusive(entry / ".lock"), _env("LIFECYCLE_WAREHOUSE", str(entry / f"{stem}.duckdb")):
            result = dbtRunner().invoke(args)
    except OSError:
        return None
    return result.result if result.success and result.exception is None else None


def parse_cache_entry(settings: Settings, vars: dict[str, Any] | None = None) -> Path:
    """The parse-cache directory for this checkout, dbt version, vars and warehouse file name."""
    import dbt.version

    vars_json = json.dumps(vars or {}, sort_keys=True, default=str)
    key = json.dumps(
        [str(DBT_PROJECT_DIR.resolve()), dbt.version.__version__, vars_json, settings.warehouse_path.stem]
    )
    return PARSE_CACHE_DIR / hashlib.sha256(key.encode()).hexdigest()[:16]


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def _env(key: str, value: str) -> Iterator[None]:
    previous = os.environ.get(key)
    os.environ[key] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = previous
