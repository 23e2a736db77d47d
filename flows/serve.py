"""`lifecycle serve`: scheduled Prefect deployments for an analytics engineer to leave running.

Two deployments, both served from this process (`prefect.serve`):
- `lifecycle-ingest/ingest` (default hourly): load new raw files, so the warehouse stays fresh;
- `lifecycle-run/scheduled-run` (default daily): the whole pipeline, i.e. ingest, gates, dbt
  build, publish, sync and report.
Both take the data dir's run lock, so a scheduled run and a manual `lifecycle run` never write
the warehouse at once: the later one exits with a clear "busy" line (or waits with `wait=True`),
and each deployment also has a concurrency limit of 1 so Prefect never starts overlapping runs.
See docs/operations.md for the Prefect UI, work pools and workers.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy

from flows.errors import LifecycleError
from flows.settings import Settings, configure_environment
from flows.transform.run_guard import warehouse_guard

INGEST_DEPLOYMENT = "ingest"
RUN_DEPLOYMENT = "scheduled-run"


def _settings(data_dir: str) -> Settings:
    settings = Settings(data_dir=data_dir)
    configure_environment(settings)
    return settings


@flow(name="lifecycle-ingest")
def scheduled_ingest(data_dir: str, wait: bool = False) -> str:
    """Ingest every source once under the run lock (what the hourly schedule runs)."""
    from flows.sources.flows import ingest_flow

    settings = _settings(data_dir)
    with warehouse_guard(settings, wait=wait):
        summary = ingest_flow(settings, source="all")
    get_run_logger().info("ingest done:\n%s", summary)
    return str(summary)


@flow(name="lifecycle-scheduled-run")
def scheduled_run(data_dir: str, full_refresh: bool = False, wait: bool = False) -> str:
    """The whole pipeline once (what the daily schedule runs); fails the flow run when the run failed."""
    from flows.pipeline import lifecycle_run

    summary = lifecycle_run(_settings(data_dir), full_refresh=full_refresh, wait=wait)
    if not summary.ok:
        raise LifecycleError(summary.final_line())
    return summary.final_line()


def build_deployments(settings: Settings, ingest_cron: str, run_cron: str) -> list[Any]:
    """The RunnerDeployments `serve` registers (a function of its own so tests can inspect them)."""
    for name, cron in (("--ingest-cron", ingest_cron), ("--run-cron", run_cron)):
        _check_cron(name, cron)
    params = {"data_dir": str(settings.root)}
    one_at_a_time = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW)
    return [
        scheduled_ingest.to_deployment(
            name=INGEST_DEPLOYMENT,
            cron=ingest_cron,
            parameters=params,
            concurrency_limit=one_at_a_time,
            description="Load new raw files into the warehouse.",
            tags=["lifecycle", "ingest"],
        ),
        scheduled_run.to_deployment(
            name=RUN_DEPLOYMENT,
            cron=run_cron,
            parameters=params,
            concurrency_limit=one_at_a_time,
            description="Ingest, gates, dbt build, publish, sync and report.",
            tags=["lifecycle", "run"],
        ),
    ]


def _check_cron(option: str, cron: str) -> None:
    from prefect.client.schemas.schedules import CronSchedule

    try:
        CronSchedule(cron=cron)
    except ValueError as exc:
        raise LifecycleError(
            f"{option} {cron!r} is not a valid cron expression", hint="e.g. '0 * * * *'"
        ) from exc


def serve(settings: Settings, ingest_cron: str, run_cron: str) -> None:
    """Register the deployments and run their schedules until interrupted (blocks)."""
    from prefect import serve as prefect_serve

    deployments = build_deployments(settings, ingest_cron, run_cron)
    print(
        f"lifecycle serve: ingest on '{ingest_cron}', full run on '{run_cron}' for {settings.root}; "
        "Ctrl-C to stop",
        flush=True,
    )
    prefect_serve(*deployments, print_starting_message=False)
