"""dbt build as a Prefect flow: prefect-dbt's `PrefectDbtRunner` turns every dbt node into a task.

Why this shape: analytics engineers see each model, test, seed and snapshot as its own task run in
the Prefect UI (with dbt's log lines attached), and a failed node marks only its downstream nodes
as skipped. Artifacts and logs stay in the data dir (`--target-path DIR/dbt_target`) because other
processes run dbt on the same project at the same time.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from prefect import flow, get_run_logger

from flows.errors import LifecycleError
from flows.progress import step
from flows.settings import DBT_PROJECT_DIR, Settings, configure_environment
from flows.transform.dbt import dbt_args
from flows.transform.run_guard import warehouse_guard

_FAILED = {"error", "fail", "runtime error"}


@dataclass
class BuildSummary:
    """What a dbt build did, counted from dbt's own run results."""

    ok: bool
    command: str
    models: int = 0
    seeds: int = 0
    snapshots: int = 0
    tests_passed: int = 0
    tests_warned: int = 0
    tests_failed: int = 0
    unit_tests: int = 0
    skipped: int = 0
    failures: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    def to_rows(self) -> list[dict[str, Any]]:
        return [
            {"item": "models built", "count": self.models},
            {"item": "seeds loaded", "count": self.seeds},
            {"item": "snapshots", "count": self.snapshots},
            {"item": "tests passed", "count": self.tests_passed},
            {"item": "tests warned", "count": self.tests_warned},
            {"item": "tests failed", "count": self.tests_failed},
            {"item": "unit tests", "count": self.unit_tests},
            {"item": "nodes skipped", "count": self.skipped},
        ]

    def summary_line(self) -> str:
        state = "ok" if self.ok else "FAILED"
        line = (
            f"dbt {self.command} {state}: {self.models} models, {self.seeds} seeds, "
            f"{self.snapshots} snapshots, "
            f"{self.tests_passed} tests passed, {self.tests_warned} warned, {self.tests_failed} failed, "
            f"{self.skipped} skipped in {self.elapsed_s:.0f}s"
        )
        if self.failures:
            line += f"; failed: {', '.join(self.failures[:8])}"
        return line

    def __str__(self) -> str:
        return self.summary_line()


def summarize_results(command: str, results: list[Any], elapsed_s: float, success: bool) -> BuildSummary:
    """Count dbt node results by type and status (plain function: unit-testable)."""
    s = BuildSummary(ok=success, command=command, elapsed_s=elapsed_s)
    for r in results:
        node = getattr(r, "node", None)
        rtype = str(getattr(node, "resource_type", "")).lower().replace("nodetype.", "")
        status = str(getattr(r, "status", "")).lower().replace("runstatus.", "").replace("teststatus.", "")
        name = getattr(node, "name", "?")
        if status in _FAILED:
            s.failures.append(f"{rtype} {name} ({status})")
            if rtype in ("test", "unit_test"):
                s.tests_failed += 1
            continue
        if status == "skipped":
            s.skipped += 1
            continue
        if rtype == "model":
            s.models += 1
        elif rtype == "seed":
            s.seeds += 1
        elif rtype == "snapshot":
            s.snapshots += 1
        elif rtype == "unit_test":
            s.unit_tests += 1
        elif rtype == "test":
            if status == "warn":
                s.tests_warned += 1
            else:
                s.tests_passed += 1
    if s.failures:
        s.ok = False
    return s


def _invoke(settings: Settings, args: list[str]) -> Any:
    """Run dbt through PrefectDbtRunner (one Prefect task per node when inside a flow)."""
    from dbt_common.events.base_types import EventLevel
    from prefect_dbt import PrefectDbtRunner, PrefectDbtSettings

    configure_environment(settings)
    os.environ["DBT_LOG_PATH"] = str(settings.root / "dbt_logs")
    runner = PrefectDbtRunner(
        settings=PrefectDbtSettings(
            project_dir=DBT_PROJECT_DIR,
            profiles_dir=DBT_PROJECT_DIR,
            target_path=settings.dbt_target_dir,
            # Explicit: the default derives it from PREFECT_LOGGING_LEVEL, and "WARNING" is not a dbt level.
            log_level=EventLevel.INFO if settings.debug else EventLevel.WARN,
        ),
        raise_on_failure=False,
    )
    with step(f"dbt {args[0]}") as progress:

        @runner.post_model()
        def _advance(ctx: Any) -> None:  # background thread; only counts, never raises
            progress.advance()

        try:
            with _in_process_node_context():
                return runner.invoke(args)
        finally:
            _join_node_tasks()


@contextlib.contextmanager
def _in_process_node_context() -> Iterator[None]:
    """Let prefect-dbt's node task threads use this process's Prefect settings as they are.

    PrefectDbtRunner serialises the Prefect context once per invoke and every node task thread
    re-hydrates it twice (once in prefect-dbt's tracker, once in the task engine). Re-hydrating the
    settings context re-validates the whole Prefect `Settings` model from its sources (environment,
    pyproject.toml, profiles.toml) each time: measured at half of all Python time of a 10k-person
    build (324 nodes), competing for the GIL with dbt's own threads. The threads run in this
    process, where the process-wide settings context is exactly what they would rebuild, so when
    the current settings context IS that global one it is left out of the serialised context and
    each thread falls back to it. A flow that entered its own settings context keeps the default.
    """
    import prefect_dbt.core.runner as prefect_dbt_runner
    from prefect import context as prefect_context

    original = prefect_dbt_runner.serialize_context

    def serialize_context(*args: Any, **kwargs: Any) -> dict[str, Any]:
        serialized = original(*args, **kwargs)
        if prefect_context.SettingsContext.get() is prefect_context.GLOBAL_SETTINGS_CONTEXT:
            serialized["settings_context"] = {}
        return serialized

    prefect_dbt_runner.serialize_context = serialize_context
    try:
        yield
    finally:
        prefect_dbt_runner.serialize_context = original


def _join_node_tasks(timeout_s: float = 300.0) -> None:
    """Wait for prefect-dbt's per-node task threads to report their final states.

    PrefectDbtRunner runs each node's Prefect task in a daemon thread and returns without joining
    them; left alone, the flow could finish (or the process exit) while node task runs are still
    being reported, which loses their states and logs "can't register atexit after shutdown".
    """
    import threading

    deadline = time.monotonic() + timeout_s
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and thread.name.endswith("(run_task)"):
            thread.join(max(deadline - time.monotonic(), 0.1))


@flow(name="dbt-build", log_prints=True)
def dbt_build_flow(
    settings: Settings,
    full_refresh: bool = False,
    select: str | None = None,
    vars: dict[str, Any] | None = None,
    unit_tests: bool | None = None,
) -> BuildSummary:
    """`dbt build` (seeds, models, snapshots, data tests) for one data dir; raises when any node fails.

    dbt unit tests run only when asked (`unit_tests`, default `settings.dbt_unit_tests`): their inputs
    are fixed, so a scheduled build would pay for the same answer every run (DECISIONS.md).
    """
    logger = get_run_logger()
    command = ["build"]
    if full_refresh:
        command.append("--full-refresh")
    if select:
        command += ["--select", select]
    if not (settings.dbt_unit_tests if unit_tests is None else unit_tests):
        command += ["--exclude-resource-type", "unit_test"]
    # PrefectDbtRunner injects project/profiles/target itself; dbt_args keeps vars formatting in one place.
    args = dbt_args(settings, command, vars)
    started = time.monotonic()
    with warehouse_guard(settings):
        try:
            res = _invoke(settings, args)
        except ValueError as exc:  # prefect-dbt raises ValueError when dbt itself crashed
            # "Failed to invoke dbt command '...': Compilation Error\n  'x' is undefined" -> the why
            lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
            why = re.sub(r"^Failed to invoke dbt command '[^']*': ", "", " ".join(lines[:2]))
            raise LifecycleError(
                f"dbt build crashed: {why[:400]}", hint=f"logs in {settings.root / 'dbt_logs'}"
            ) from exc
    results = list(getattr(getattr(res, "result", None), "results", None) or [])
    summary = summarize_results("build", results, time.monotonic() - started, bool(res.success))
    logger.info(summary.summary_line())
    if not summary.ok:
        raise LifecycleError(summary.summary_line(), hint=f"logs in {settings.root / 'dbt_logs'}")
    return summary
