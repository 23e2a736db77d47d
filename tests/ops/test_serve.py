"""`lifecycle serve`: deployments with the configured schedules, registered by a real serve process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows.errors import LifecycleError
from flows.serve import INGEST_DEPLOYMENT, RUN_DEPLOYMENT, build_deployments

REPO = Path(__file__).resolve().parents[2]


def test_deployments_carry_the_configured_schedules(settings) -> None:
    deployments = build_deployments(settings, ingest_cron="*/15 * * * *", run_cron="0 3 * * *")
    by_name = {d.name: d for d in deployments}
    assert set(by_name) == {INGEST_DEPLOYMENT, RUN_DEPLOYMENT}
    assert by_name[INGEST_DEPLOYMENT].schedules[0].schedule.cron == "*/15 * * * *"
    assert by_name[RUN_DEPLOYMENT].schedules[0].schedule.cron == "0 3 * * *"
    for d in deployments:
        assert d.parameters == {"data_dir": str(settings.root)}
        assert d.concurrency_limit == 1


def test_invalid_cron_is_a_clear_error(settings) -> None:
    with pytest.raises(LifecycleError, match="--run-cron 'every day' is not a valid cron"):
        build_deployments(settings, ingest_cron="0 * * * *", run_cron="every day")


@pytest.mark.slow
def test_serve_registers_deployments_with_a_prefect_server(prefect_harness, tmp_path) -> None:
    """A real `lifecycle serve` subprocess registers both deployments with the server, then is stopped."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "LIFECYCLE_NO_PROGRESS": "1"}
    data_dir = tmp_path / "data"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flows.cli",
            "serve",
            "--data-dir",
            str(data_dir),
            "--ingest-cron",
            "7 * * * *",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    found: dict[str, str] = {}
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len(found) < 2:
            assert proc.poll() is None, proc.stdout.read()
            with get_client(sync_client=True) as client:
                for d in client.read_deployments():
                    if d.parameters.get("data_dir") == str(data_dir.resolve()):
                        found[d.name] = d.schedules[0].schedule.cron if d.schedules else ""
            time.sleep(1)
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert found == {INGEST_DEPLOYMENT: "7 * * * *", RUN_DEPLOYMENT: "30 2 * * *"}
