"""`lifecycle deploy`: the scheduled flows as deployments of a Prefect process work pool, for workers.

`lifecycle serve` runs the flows in its own process. To run them under Prefect workers instead (on
the machine that holds the data dir, started and restarted by a supervisor, several at once), this
registers the same flows as deployments of a `process` work pool on a persistent Prefect server
(PREFECT_API_URL), creating the pool when it does not exist. Then `prefect worker start --pool NAME`
runs them; docs/operations.md gives the commands.

Deployments, each with the data dir as parameter and a concurrency limit of 1:
- `lifecycle-ingest/ingest-<source>`, one per source (web, email, tickets, spend, erasure), on
  `--ingest-cron`;
- `lifecycle-scheduled-run/scheduled-run`, the whole pipeline, on `--run-cron`;
- `lifecycle-sync/sync-<segment>`, one per segment of segments.yml, on `--sync-cron` if given (the
  full run syncs every segment already; these are for pushing one segment on its own clock or by
  hand with `prefect deployment run`).

Every flow takes the data dir's run lock (an flock: it holds across processes, and so across
workers on one machine) with `wait=True`, so a run that finds another writer waits for it instead
of failing. The entry points are module paths (`flows.serve.scheduled_ingest`): a worker runs them
from the environment it was started in (a checkout with `make setup` done), with no image and no
code upload.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from flows.errors import LifecycleError
from flows.settings import Settings

INGEST_PREFIX = "ingest-"
SYNC_PREFIX = "sync-"
RUN_NAME = "scheduled-run"


@dataclass
class DeploySummary:
    pool: str
    created_pool: bool
    deployments: list[str]

    def __str__(self) -> str:
        head = f"work pool {self.pool!r} ({'created' if self.created_pool else 'exists'}), process type"
        lines = [head, *(f"  {d}" for d in self.deployments)]
        lines.append(f"start a worker where the data dir lives: prefect worker start --pool {self.pool}")
        return "\n".join(lines)


def _ensure_pool(name: str) -> bool:
    """Create the process work pool `name` with Prefect's default job template; True if created."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
    from prefect.workers.process import ProcessWorker

    with get_client(sync_client=True) as client:
        try:
            pool = client.read_work_pool(name)
        except ObjectNotFound:
            pass
        else:
            if pool.type != "process":
                raise LifecycleError(
                    f"work pool {name!r} exists with type {pool.type!r}, not 'process'",
                    hint="pass --pool with another name, or delete that pool",
                )
            return False
        try:
            client.create_work_pool(
                WorkPoolCreate(
                    name=name,
                    type="process",
                    base_job_template=ProcessWorker.get_default_base_job_template(),
                )
            )
        except ObjectAlreadyExists:  # created meanwhile by someone else: the same outcome
            return False
        return True


def deploy(
    settings: Settings,
    pool: str,
    ingest_cron: str,
    run_cron: str,
    sync_cron: str | None = None,
) -> DeploySummary:
    """Register every deployment in `pool` (idempotent: a re-deploy updates them in place)."""
    if not os.environ.get("PREFECT_API_URL"):
        raise LifecycleError(
            "deployments need a persistent Prefect server (PREFECT_API_URL is not set)",
            hint="start one with `prefect server start` and export PREFECT_API_URL=http://127.0.0.1:4200/api",
        )
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.types.entrypoint import EntrypointType

    from flows.activation.config import load_config
    from flows.serve import _check_cron, scheduled_ingest, scheduled_run, scheduled_sync
    from flows.sources.ingest import SOURCES

    for option, cron in (
        ("--ingest-cron", ingest_cron),
        ("--run-cron", run_cron),
        ("--sync-cron", sync_cron),
    ):
        if cron is not None:
            _check_cron(option, cron)
    segments = [s.name for s in load_config(settings.segments_file).segments]
    created = _ensure_pool(pool)
    data_dir = str(settings.root)
    one_at_a_time = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW)
    common = {
        "work_pool_name": pool,
        "concurrency_limit": one_at_a_time,
        "entrypoint_type": EntrypointType.MODULE_PATH,
        "build": False,
        "push": False,
        "print_next_steps": False,
    }
    plan = [
        (
            scheduled_ingest,
            f"{INGEST_PREFIX}{source}",
            {"source": source},
            ingest_cron,
            f"Load new {source} files.",
        )
        for source in SOURCES
    ]
    plan.append(
        (scheduled_run, RUN_NAME, {}, run_cron, "Ingest, gates, dbt build, publish, sync and report.")
    )
    plan += [
        (scheduled_sync, f"{SYNC_PREFIX}{seg}", {"segment": seg}, sync_cron, f"Push segment {seg}.")
        for seg in segments
    ]
    names = []
    for fl, name, params, cron, description in plan:
        fl.deploy(
            name,
            parameters={"data_dir": data_dir, "wait": True, **params},
            cron=cron,
            description=description,
            tags=["lifecycle"],
            **common,
        )
        names.append(f"{fl.name}/{name}" + (f"  cron '{cron}'" if cron else "  (run on demand)"))
    return DeploySummary(pool=pool, created_pool=created, deployments=names)
