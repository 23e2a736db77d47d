"""`lifecycle serve`: deployments with the configured schedules, registered by a real serve process."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
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


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API") and k != "PREFECT_HOME"}
    env.update({"CI": "true", "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "600"})
    return env


def _start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """A child in its own process group (so the test can stop it and everything it started)."""
    with open(log, "wb") as out:
        return subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _stop(proc: subprocess.Popen) -> None:
    """Ctrl-C to the whole group, then SIGKILL after 30 s; never leaves a process behind."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # anything left in the group (flow-run children, server)
    proc.wait()


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
    proc = _start(cmd, env, log)
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
        _stop(proc)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_serve_schedules_fire_on_its_local_server(tmp_path) -> None:
    """Without PREFECT_API_URL, `lifecycle serve` runs its own Prefect server and the schedule fires.

    Prefect's temporary server runs no scheduler, so deployments served against it never ran; this is
    the user's view: start serve, drop a raw file, and see it in the warehouse without doing anything.
    """
    data_dir = tmp_path / "data"
    port = _free_port()
    _serve_until_loaded(data_dir, _clean_env(), tmp_path / "serve.log", port)
    server_log = data_dir / ".prefect" / "server.log"
    assert "Can't evaluate bulk DML" not in server_log.read_text()  # the SQLAlchemy 2.1 scheduler bug
    with pytest.raises(OSError):  # the local server stopped with serve
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


@pytest.mark.slow
def test_serve_schedules_fire_on_a_persistent_prefect_server(tmp_path) -> None:
    """With PREFECT_API_URL pointing at a `prefect server start` of its own, the schedule fires too."""
    port = _free_port()
    env = _clean_env()
    server_env = dict(env, PREFECT_HOME=str(tmp_path / "server-home"))
    server_log = tmp_path / "server.log"
    server = _start(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        server_env,
        server_log,
    )
    try:
        import httpx

        url = f"http://127.0.0.1:{port}/api"
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, server_log.read_text()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, server_log.read_text()
            time.sleep(1)
        data_dir = tmp_path / "data"
        _serve_until_loaded(data_dir, dict(env, PREFECT_API_URL=url), tmp_path / "serve.log", _free_port())
        runs = httpx.post(
            f"{url}/flow_runs/filter",
            json={"flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}, "limit": 50},
            timeout=10,
        ).json()
        assert any(r["auto_scheduled"] for r in runs), "no completed run was created by the scheduler"
        assert "Can't evaluate bulk DML" not in server_log.read_text()
        assert not (data_dir / ".prefect" / "server.log").exists()  # serve started no server of its own
    finally:
        _stop(server)
