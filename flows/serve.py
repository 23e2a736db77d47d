"""`lifecycle serve`: scheduled Prefect deployments for an analytics engineer to leave running.

Two deployments, both served from this process (`prefect.serve`):
- `lifecycle-ingest/ingest` (default hourly): load new raw files, so the warehouse stays fresh;
- `lifecycle-run/scheduled-run` (default daily): the whole pipeline, i.e. ingest, gates, dbt
  build, publish, sync and report.
Both take the data dir's run lock, so a scheduled run and a manual `lifecycle run` never write
the warehouse at once: the later one exits with a clear "busy" line (or waits with `wait=True`),
and each deployment also has a concurrency limit of 1 so Prefect never starts overlapping runs.
See docs/operations.md for the Prefect UI, work pools and workers.

Schedules need Prefect's scheduler service, and Prefect's temporary ("ephemeral") server does not
run it (only services marked `run_in_ephemeral` run there): deployments served against it are
registered but never get a scheduled run. So without PREFECT_API_URL, `serve` starts a real local
`prefect server start` as its own child process (UI included, history in DIR/.prefect) and stops
it on exit; with PREFECT_API_URL it uses that server.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
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
def scheduled_ingest(data_dir: str, source: str = "all", wait: bool = False) -> str:
    """Ingest one source (or all) once under the run lock (what the hourly schedule runs)."""
    from flows.sources.flows import ingest_flow

    settings = _settings(data_dir)
    with warehouse_guard(settings, wait=wait):
        summary = ingest_flow(settings, source=source)
    get_run_logger().info("ingest done:\n%s", summary)
    return str(summary)


@flow(name="lifecycle-sync")
def scheduled_sync(data_dir: str, segment: str | None = None, wait: bool = False) -> str:
    """Sync one segment (or all) to its destinations under the run lock; fails when a push failed."""
    from flows.activation.flows import sync_flow

    settings = _settings(data_dir)
    with warehouse_guard(settings, wait=wait):
        summary = sync_flow(settings, segments=[segment] if segment else None)
    if not summary.ok:
        raise LifecycleError(summary.summary_line())
    return summary.summary_line()


@flow(name="lifecycle-scheduled-run")
def scheduled_run(data_dir: str, full_refresh: bool = False, wait: bool = False) -> str:
    """The whole pipeline once (what the daily schedule runs); fails the flow run when the run failed."""
    from flows.pipeline import lifecycle_run

    summary = lifecycle_run(_settings(data_dir), full_refresh=full_refresh, wait=wait)
    if not summary.ok:
        raise LifecycleError(summary.final_line())
    return summary.final_line()


def build_deployments(
    settings: Settings,
    ingest_cron: str,
    run_cron: str,
    ingest_interval: float | None = None,
    run_interval: float | None = None,
) -> list[Any]:
    """The RunnerDeployments `serve` registers (a function of its own so tests can inspect them).

    An interval (seconds) replaces the cron of its deployment: cron cannot fire more often than once
    a minute, and an interval is what a quick trial or a test wants.
    """
    for name, cron in (("--ingest-cron", ingest_cron), ("--run-cron", run_cron)):
        _check_cron(name, cron)
    for name, interval in (("--ingest-interval", ingest_interval), ("--run-interval", run_interval)):
        if interval is not None and interval < 1:
            raise LifecycleError(f"{name} {interval:g} is too short", hint="use at least 1 second")
    params = {"data_dir": str(settings.root)}
    one_at_a_time = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW)

    def when(cron: str, interval: float | None) -> dict[str, Any]:
        return {"interval": interval} if interval is not None else {"cron": cron}

    return [
        scheduled_ingest.to_deployment(
            name=INGEST_DEPLOYMENT,
            parameters=params,
            concurrency_limit=one_at_a_time,
            description="Load new raw files into the warehouse.",
            tags=["lifecycle", "ingest"],
            **when(ingest_cron, ingest_interval),
        ),
        scheduled_run.to_deployment(
            name=RUN_DEPLOYMENT,
            parameters=params,
            concurrency_limit=one_at_a_time,
            description="Ingest, gates, dbt build, publish, sync and report.",
            tags=["lifecycle", "run"],
            **when(run_cron, run_interval),
        ),
    ]


def describe_schedule(cron: str, interval: float | None) -> str:
    return f"every {interval:g}s" if interval is not None else f"'{cron}'"


def _check_cron(option: str, cron: str) -> None:
    from prefect.client.schemas.schedules import CronSchedule

    try:
        CronSchedule(cron=cron)
    except ValueError as exc:
        raise LifecycleError(
            f"{option} {cron!r} is not a valid cron expression", hint="e.g. '0 * * * *'"
        ) from exc


def _free_port(preferred: int) -> int:
    """`preferred` when nothing listens there, else any free loopback port."""
    for port in (preferred, 0):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise LifecycleError("no free port on 127.0.0.1 for the Prefect server")


def _die_with_parent() -> None:  # runs in the child between fork and exec (Linux only)
    """Ask the kernel to SIGTERM the server when `serve` dies, even by kill -9 (no orphan server)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


@contextlib.contextmanager
def local_server(settings: Settings, port: int = 4200, timeout: float = 300.0) -> Iterator[str]:
    """A real `prefect server start` (with its scheduler) on 127.0.0.1 for as long as `serve` runs.

    History lives in DIR/.prefect (PREFECT_HOME) like every other command's; the server's own log
    goes to DIR/.prefect/server.log. Yields the API URL. The 300 s start-up bound is generous on
    purpose: on a loaded 2-core machine `prefect server start` was measured at 134 s to healthy.
    """
    import httpx

    port = _free_port(port)
    url = f"http://127.0.0.1:{port}/api"
    settings.prefect_home.mkdir(parents=True, exist_ok=True)
    log_path = settings.prefect_home / "server.log"
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update({"PREFECT_HOME": str(settings.prefect_home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"})
    cmd = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            cmd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise LifecycleError(
                    f"the local Prefect server exited with status {proc.returncode}",
                    hint=f"see {log_path}",
                )
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise LifecycleError(
                    f"the local Prefect server did not answer within {timeout:.0f}s", hint=f"see {log_path}"
                )
            time.sleep(0.5)
        yield url
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def serve(
    settings: Settings,
    ingest_cron: str,
    run_cron: str,
    ingest_interval: float | None = None,
    run_interval: float | None = None,
    port: int = 4200,
) -> None:
    """Register the deployments and run their schedules until interrupted (blocks)."""
    deployments = build_deployments(settings, ingest_cron, run_cron, ingest_interval, run_interval)
    external = os.environ.get("PREFECT_API_URL")
    server = contextlib.nullcontext(external) if external else local_server(settings, port=port)
    with server as api_url:
        from prefect import serve as prefect_serve
        from prefect.settings import PREFECT_API_URL, temporary_settings

        os.environ["PREFECT_API_URL"] = api_url  # flow-run subprocesses inherit it
        ui = api_url.removesuffix("/api")
        print(
            f"lifecycle serve: ingest {describe_schedule(ingest_cron, ingest_interval)}, "
            f"full run {describe_schedule(run_cron, run_interval)} for {settings.root}; "
            f"Prefect {'server' if external else 'local server'} {ui}; Ctrl-C to stop",
            flush=True,
        )
        with temporary_settings(updates={PREFECT_API_URL: api_url}):
            prefect_serve(*deployments, print_starting_message=False)
