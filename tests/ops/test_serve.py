"""`lifecycle serve`: deployments with the configured schedules, registered by a real serve process."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
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


def _registered(db: Path) -> dict[str, str]:
    """Deployments (name -> cron) as the Prefect server stored them."""
    if not db.exists():
        return {}
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "select d.name, s.schedule from deployment d join deployment_schedule s on s.deployment_id = d.id"
        ).fetchall()
    except sqlite3.OperationalError:  # the server is still creating its tables
        return {}
    finally:
        con.close()
    return {name: json.loads(schedule).get("cron", "") for name, schedule in rows}


@pytest.mark.slow
def test_serve_registers_scheduled_deployments_with_prefect(tmp_path) -> None:
    """A real `lifecycle serve` subprocess registers both deployments with its Prefect server, then stops.

    It runs Prefect as a user would (its own temporary server, history in DIR/.prefect) and the test
    reads what the server stored; then it sends Ctrl-C, which `prefect.serve` handles cleanly.
    """
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API") and k != "PREFECT_HOME"}
    env.update({"CI": "true", "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "600"})
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
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and len(found) < 2:
            assert proc.poll() is None, proc.stdout.read()
            found = _registered(data_dir / ".prefect" / "prefect.db")
            time.sleep(1)
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert found == {INGEST_DEPLOYMENT: "7 * * * *", RUN_DEPLOYMENT: "30 2 * * *"}
