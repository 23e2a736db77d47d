"""`lifecycle serve`: deployments with the configured schedules, registered by a real serve process."""

from __future__ import annotations

import fcntl
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows.errors import LifecycleError
from flows.serve import INGEST_DEPLOYMENT, RUN_DEPLOYMENT, build_deployments
from tests.prefect_server import clean_env, free_port, start_process, stop_process

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


SPEND_HEADER = "date,source,medium,campaign,spend,currency\n"


def _spend_file(path: Path, day: str, rows: int) -> None:
    """A marketing-spend CSV in the SPEC 4.4 layout (the smallest raw source to load)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{day},facebook,paid_social,camp_{i},{i + 1}.25,USD\n" for i in range(rows)]
    path.write_text(SPEND_HEADER + "".join(lines))


def _loaded(data_dir: Path, rel: str) -> int | None:
    """Rows the warehouse holds from raw file `rel`, or None while not loaded (or busy).

    Reads under the data dir's run lock, as every writer takes it: a read never makes a scheduled
    ingest fail on DuckDB's file lock, and the ingest never sees a half-read warehouse.
    """
    import duckdb

    warehouse = data_dir / "warehouse.duckdb"
    if not warehouse.exists():
        return None
    fd = os.open(data_dir / ".run.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None  # an ingest is writing right now
        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            if not con.execute("select count(*) from raw.load_manifest where path = ?", [rel]).fetchall()[0][
                0
            ]:
                return None
            return con.execute("select count(*) from raw.spend where _file = ?", [rel]).fetchall()[0][0]
        except duckdb.CatalogException:
            return None  # schema not created yet
        finally:
            con.close()
    finally:
        os.close(fd)


def _serve_until_loaded(data_dir: Path, env: dict[str, str], log: Path, port: int) -> None:
    """Start `lifecycle serve` (ingest every 5 s), drop a file, wait for a scheduled run to load it."""
    _spend_file(data_dir / "raw" / "spend" / "2026-01.csv", "2026-01-05", rows=3)
    cmd = [
        sys.executable,
        "-m",
        "flows.cli",
        "serve",
        "--data-dir",
        str(data_dir),
        "--ingest-interval",
        "5",
        "--port",
        str(port),
    ]
    proc = start_process(cmd, env, log)
    try:
        # The first scheduled run loads the file that was there before serve started ...
        deadline = time.monotonic() + 240
        while _loaded(data_dir, "spend/2026-01.csv") is None:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "no scheduled ingest ran:\n" + log.read_text()
            time.sleep(2)
        # ... and a file dropped while serving is picked up by a later scheduled run, unattended.
        _spend_file(data_dir / "raw" / "spend" / "2026-02.csv", "2026-02-07", rows=4)
        deadline = time.monotonic() + 120
        while (rows := _loaded(data_dir, "spend/2026-02.csv")) is None:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the dropped file was not loaded:\n" + log.read_text()
            time.sleep(2)
        assert rows == 4
        assert "lifecycle serve: ingest every 5s" in log.read_text()
    finally:
        stop_process(proc)


@pytest.mark.slow
def test_serve_schedules_fire_on_its_local_server(tmp_path) -> None:
    """Without PREFECT_API_URL, `lifecycle serve` runs its own Prefect server and the schedule fires.

    Prefect's temporary server runs no scheduler, so deployments served against it never ran; this is
    the user's view: start serve, drop a raw file, and see it in the warehouse without doing anything.
    """
    data_dir = tmp_path / "data"
    port = free_port()
    _serve_until_loaded(data_dir, clean_env(), tmp_path / "serve.log", port)
    server_log = data_dir / ".prefect" / "server.log"
    assert "Can't evaluate bulk DML" not in server_log.read_text()  # the SQLAlchemy 2.1 scheduler bug
    with pytest.raises(OSError):  # the local server stopped with serve
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


@pytest.mark.slow
def test_serve_schedules_fire_on_a_persistent_prefect_server(prefect_server, tmp_path) -> None:
    """With PREFECT_API_URL pointing at a `prefect server start` of its own, the schedule fires too."""
    import httpx

    url, server_log = prefect_server.url, prefect_server.log
    data_dir = tmp_path / "data"
    _serve_until_loaded(data_dir, dict(clean_env(), PREFECT_API_URL=url), tmp_path / "serve.log", free_port())
    runs = httpx.post(
        f"{url}/flow_runs/filter",
        json={"flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}, "limit": 50},
        timeout=10,
    ).json()
    assert any(r["auto_scheduled"] for r in runs), "no completed run was created by the scheduler"
    assert "Can't evaluate bulk DML" not in server_log.read_text()
    assert not (data_dir / ".prefect" / "server.log").exists()  # serve started no server of its own


def _runs_of(url: str, deployments: list[str]) -> dict[str, dict]:
    """{deployment name: its latest triggered flow run} as the Prefect API reports them (the
    scheduler's own future runs of the deployments' crons are left out)."""
    import httpx

    out = {}
    for name in deployments:
        dep = httpx.get(f"{url}/deployments/name/{name}", timeout=10).json()
        runs = httpx.post(
            f"{url}/flow_runs/filter",
            json={"flow_runs": {"deployment_id": {"any_": [dep["id"]]}}, "sort": "EXPECTED_START_TIME_DESC"},
            timeout=10,
        ).json()
        triggered = [r for r in runs if not r["auto_scheduled"]]
        if triggered:
            out[name] = triggered[0]
    return out


def _wait_for(url: str, deployments: list[str], states: set[str], logs: list[Path], seconds: float) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        runs = _runs_of(url, deployments)
        if len(runs) == len(deployments) and all(r["state_type"] in states for r in runs.values()):
            return runs
        failed = [r for r in runs.values() if r["state_type"] in ("FAILED", "CRASHED", "CANCELLED")]
        detail = "\n".join(p.read_text(errors="replace")[-3000:] for p in logs if p.exists())
        assert not failed, (
            f"{[(r['name'], r['state_name'], r['state']['message']) for r in failed]}\n{detail}"
        )
        assert time.monotonic() < deadline, f"runs not {states}: {runs}\n{detail}"
        time.sleep(1)


@pytest.mark.slow
def test_process_workers_run_the_deployments_and_the_run_lock_holds_across_workers(
    prefect_server, tmp_path
) -> None:
    """The analytics engineer's worker set-up, with their own tools: `lifecycle deploy` registers
    the deployments in a process work pool, two `prefect worker start` processes serve it, and
    `prefect deployment run` triggers two ingests while a manual run holds the data dir. Both runs
    wait for the lock (they do not fail and do not write), then run one after the other and load
    their files: two writers at once would have failed on DuckDB's own file lock."""
    import fcntl

    url = prefect_server.url
    data_dir = tmp_path / "data"
    _spend_file(data_dir / "raw" / "spend" / "2026-01.csv", "2026-01-05", rows=3)
    erasure = data_dir / "raw" / "erasure" / "requests.csv"
    erasure.parent.mkdir(parents=True)
    erasure.write_text("email,requested_at\nnobody@example.com,2026-01-02T00:00:00Z\n")
    env = dict(clean_env(), PREFECT_API_URL=url, PREFECT_WORKER_QUERY_SECONDS="1")
    deploy = subprocess.run(
        [
            sys.executable,
            "-m",
            "flows.cli",
            "deploy",
            "--pool",
            "lifecycle-test",
            "--data-dir",
            str(data_dir),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    assert "work pool 'lifecycle-test' (created), process type" in deploy.stdout
    for name in (
        "lifecycle-ingest/ingest-spend",
        "lifecycle-scheduled-run/scheduled-run",
        "lifecycle-sync/sync-",
    ):
        assert name in deploy.stdout
    wanted = ["lifecycle-ingest/ingest-spend", "lifecycle-ingest/ingest-erasure"]
    logs = [tmp_path / f"worker{i}.log" for i in range(2)]
    lock = os.open(data_dir / ".run.lock", os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(lock, fcntl.LOCK_EX)  # a manual `lifecycle run` in progress
    workers = [
        start_process(
            [sys.executable, "-m", "prefect", "worker", "start", "--pool", "lifecycle-test", "--limit", "1"],
            env,
            log,
        )
        for log in logs
    ]
    try:
        for name in wanted:
            subprocess.run(
                [sys.executable, "-m", "prefect", "deployment", "run", name],
                cwd=REPO,
                env=env,
                check=True,
                capture_output=True,
                timeout=120,
            )
        runs = _wait_for(url, wanted, {"RUNNING"}, logs, 240)
        time.sleep(3)  # still waiting for the lock, nothing written
        assert {r["state_type"] for r in _runs_of(url, wanted).values()} == {"RUNNING"}
        assert not (data_dir / "warehouse.duckdb").exists()
        # Both RUNNING at once with `--limit 1` per worker: one run on each worker, both held by the
        # lock the manual run holds, in other processes.
        assert len({r["id"] for r in runs.values()}) == 2
        os.close(lock)
        lock = -1
        _wait_for(url, wanted, {"COMPLETED"}, logs, 240)
        assert _loaded(data_dir, "spend/2026-01.csv") == 3
    finally:
        if lock >= 0:
            os.close(lock)
        for proc in workers:
            stop_process(proc)
