"""`lifecycle run`: the parent Prefect flow that wires every step in dependency order.

    ingest (sources in turn) -> erasure -> raw gate -> dbt build (a task per node) -> mart gate
        -> publish marts for BI
        -> activation sync
        -> KPI report

Why this shape: a failed step stops what depends on it and nothing else. Publish, sync and the
report each depend only on the mart gate, so a failed sync still leaves fresh marts for BI and a
fresh report; a failed gate stops all three. The flow ends Failed when any step failed, and the
summary's last line names the first failure. The whole run holds the data dir's run lock, so two
runs never write the warehouse at once.

Replay (`--start-date/--end-date`) rebuilds from raw, restricted to events in the date range, into
a separate warehouse under `DIR/replays/<start>_<end>/` (see `flows.transform.replay`), so a
backfill never disturbs the live marts, the published file or the audiences.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.states import Completed, Failed, State

from flows.errors import LifecycleError
from flows.progress import quiet_tracebacks, step
from flows.publish import publish_task
from flows.quality.flows import mart_gate_task, raw_gate_task
from flows.report.flow import write_report
from flows.settings import Settings, configure_environment
from flows.summary import FAILED, OK, SKIPPED, RunSummary, audience_sizes, publish_artifacts, rows_of
from flows.transform.run_guard import warehouse_guard


@task(name="prepare-replay", retries=1, retry_delay_seconds=2, cache_policy=NO_CACHE)
def replay_task(settings: Settings, start_date: date | None, end_date: date | None) -> Settings:
    from flows.transform.replay import prepare_replay

    return prepare_replay(settings, start_date, end_date)


def _describe_state(state: State) -> str:
    """One line for a failed task or subflow: the exception it raised, if any."""
    try:
        value = state.result(raise_on_failure=False)
    except Exception as exc:  # the result itself could not be loaded
        value = exc
    if isinstance(value, BaseException):
        return LifecycleError.describe(value)
    return (state.message or state.name or "failed").splitlines()[0]


class _Runner:
    """Runs steps in order, recording each in the summary; a step whose dependency failed is skipped."""

    def __init__(self, summary: RunSummary) -> None:
        self.summary = summary
        self.logger = get_run_logger()

    def run(self, name: str, call: Callable[[], State], needs: tuple[str, ...] = ()) -> Any:
        blocked = [s.name for s in self.summary.steps if s.name in needs and s.status != OK]
        if blocked:
            self.summary.add(name, SKIPPED, f"needs {', '.join(blocked)}")
            return None
        started = time.monotonic()
        with step(name):
            state = call()
        seconds = time.monotonic() - started
        if state.is_completed():
            value = state.result()
            self.summary.add(name, OK, _detail(value), seconds)
            return value
        detail = _describe_state(state)
        self.logger.error("%s failed: %s", name, detail)
        self.summary.add(name, FAILED, detail, seconds)
        return None

    def fail(self, name: str, detail: str) -> None:
        """Turn a completed step into a failure (a gate that ran but did not pass)."""
        for s in self.summary.steps:
            if s.name == name:
                s.status, s.detail = FAILED, detail
        self.logger.error("%s failed: %s", name, detail)


def _detail(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "total_rows") and hasattr(value, "total_rejects"):  # IngestSummary
        return (
            f"{getattr(value, 'total_files', '?')} files, {value.total_rows} rows loaded, "
            f"{getattr(value, 'total_duplicates', '?')} duplicates, {value.total_rejects} rejected"
        )
    line = getattr(value, "summary_line", None)
    if callable(line):
        return str(line())
    text = str(value).strip().splitlines()
    return text[-1] if text else ""


def _gate(runner: _Runner, name: str, task_fn: Any, settings: Settings, needs: tuple[str, ...]) -> None:
    result = runner.run(name, lambda: task_fn(settings, return_state=True), needs=needs)
    if result is None:
        return
    runner.summary.gate_rows.append(
        {
            "gate": name,
            "passed": bool(result.passed),
            "summary": result.summary_line(),
            "data_docs": str(getattr(result, "data_docs_path", "") or ""),
        }
    )
    if not result.passed:
        runner.fail(name, result.summary_line())
    docs = getattr(result, "data_docs_path", None)
    if docs:
        runner.summary.links[f"{name} data docs"] = str(docs)


@flow(name="lifecycle-run", log_prints=True)
def lifecycle_run_flow(
    settings: Settings,
    full_refresh: bool = False,
    start_date: date | None = None,
    end_date: date | None = None,
) -> Any:
    """The whole pipeline once; returns a Failed state (carrying the summary) when any step failed."""
    from flows.activation.flows import sync_flow
    from flows.sources.flows import ingest_flow
    from flows.transform import dbt_build_flow

    replay = start_date is not None or end_date is not None
    mode = "replay" if replay else ("full refresh" if full_refresh else "incremental")
    summary = RunSummary(data_dir=str(settings.root), run_id=str(flow_run.get_id() or ""), mode=mode)
    runner = _Runner(summary)

    work = settings
    if replay:
        work = runner.run(
            "prepare replay", lambda: replay_task(settings, start_date, end_date, return_state=True)
        )
        if work is None:
            return _finish(summary, settings)
        summary.mode = f"replay {start_date or 'start'}..{end_date or 'end'} into {work.root}"
        source_step = "prepare replay"  # every step below is handed `work` (dbt scopes its env to it)
    else:
        ingest = runner.run(
            "ingest", lambda: ingest_flow(settings, source="all", redact=False, return_state=True)
        )
        summary.ingest_rows = rows_of(ingest)
        # SPEC 10: erasure requests applied and erased persons' new records redacted before dbt
        # reads raw, so a build (or a full refresh) never sees them; old outputs are scrubbed here
        # and this run's publish, sync and report are written from redacted data.
        from flows.privacy.erase import erasure_task

        runner.run("erasure", lambda: erasure_task()(settings, return_state=True), needs=("ingest",))
        source_step = "erasure"

    _gate(runner, "raw gate", raw_gate_task, work, needs=(source_step,))
    build = runner.run(
        "dbt build",
        lambda: dbt_build_flow(work, full_refresh=full_refresh or replay, return_state=True),
        needs=("raw gate",),
    )
    summary.build_rows = rows_of(build)
    _gate(runner, "mart gate", mart_gate_task, work, needs=("dbt build",))

    published = runner.run(
        "publish", lambda: publish_task(work, summary.run_id or None, return_state=True), needs=("mart gate",)
    )
    if published is not None:
        summary.links["published marts"] = str(published)
    if replay:
        summary.add("sync", SKIPPED, "replay never pushes historical audiences")
    else:
        sync = runner.run("sync", lambda: sync_flow(settings, return_state=True), needs=("mart gate",))
        summary.sync_rows = rows_of(sync)
        if sync is not None and not getattr(sync, "ok", True):
            runner.fail("sync", f"sync partly failed: {_detail(sync)}")
        summary.audience_rows = audience_sizes(settings)
        if summary.audience_rows:
            summary.links["audiences"] = str(settings.outbound_dir)
    report = runner.run(
        "report", lambda: write_report(work, work.warehouse_path, return_state=True), needs=("mart gate",)
    )
    if report is not None:
        summary.links["report"] = str(report)
    return _finish(summary, work)


def _finish(summary: RunSummary, settings: Settings) -> State:
    try:
        publish_artifacts(summary)
    except Exception as exc:  # artifacts are a convenience; never fail the run for them
        get_run_logger().warning("could not create run artifacts: %s", exc)
    if summary.ok:
        return Completed(message=summary.final_line(), data=summary)
    return Failed(message=summary.final_line(), data=summary)


def lifecycle_run(
    settings: Settings,
    full_refresh: bool = False,
    start_date: date | None = None,
    end_date: date | None = None,
    wait: bool = False,
) -> RunSummary:
    """Run the pipeline once under the run lock; a second concurrent run exits (or waits with `wait`)."""
    if start_date and end_date and start_date > end_date:
        raise LifecycleError(f"--start-date {start_date} is after --end-date {end_date}")
    configure_environment(settings)
    quiet_tracebacks(settings.debug)
    with warehouse_guard(settings, wait=wait):
        state = lifecycle_run_flow(
            settings, full_refresh=full_refresh, start_date=start_date, end_date=end_date, return_state=True
        )
    value = state.result(raise_on_failure=False)
    if isinstance(value, RunSummary):
        return value
    # The flow itself crashed before it could summarise: report that as the failed step.
    summary = RunSummary(data_dir=str(settings.root))
    summary.add("lifecycle run", FAILED, _describe_state(state))
    return summary
