"""One persistent `prefect server start` per test process, for the tests that run `lifecycle` commands.

Why: without PREFECT_API_URL every `lifecycle` subprocess starts a temporary Prefect server (10-20 s,
more on a loaded CI machine), and the suite ran about a dozen of them. A user who schedules runs has
one server (`lifecycle serve` or `prefect server start`) that every command talks to; the tests now
do the same (issue 20). Its history is a SQLite file the tests can read back (`artifacts`).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def clean_env() -> dict[str, str]:
    """This process's environment without any Prefect API or home: a subprocess as a user starts it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API") and k != "PREFECT_HOME"}
    env.update({"CI": "true", "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "600"})
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_process(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """A child in its own process group (so the test can stop it and everything it started)."""
    with open(log, "wb") as out:
        return subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop_process(proc: subprocess.Popen) -> None:
    """Ctrl-C to the whole group, then SIGKILL after 30 s; never leaves a process behind."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # anything left in the group (flow-run children, server)
    proc.wait()


@dataclass(frozen=True)
class PrefectServer:
    url: str  # PREFECT_API_URL
    log: Path
    database: Path  # the server's SQLite history

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a `lifecycle` subprocess that talks to this server."""
        return {**clean_env(), "PREFECT_API_URL": self.url, **extra}

    def artifacts(self, data_dir: Path) -> dict[str, str]:
        """The `lifecycle-*` artifacts of the first runs on `data_dir`, by key, as the server stored them.

        The server is shared, so runs are told apart by their `settings` parameter (its data_dir);
        the earliest artifact of each key is the first run's.
        """
        needle = json.dumps(str(data_dir))
        con = sqlite3.connect(self.database)
        try:
            rows = con.execute(
                """
                select artifact.key, artifact.data
                from artifact
                join flow_run on flow_run.id = artifact.flow_run_id
                where artifact.key like 'lifecycle-%' and instr(flow_run.parameters, ?) > 0
                order by artifact.created desc
                """,
                [needle],
            ).fetchall()
        finally:
            con.close()
        return dict(rows)  # later rows (earlier artifacts) overwrite: the first run's per key


@contextlib.contextmanager
def persistent_server(home: Path, startup_seconds: float = 180) -> Iterator[PrefectServer]:
    """`prefect server start` on a free port with its own PREFECT_HOME; stopped (whole group) on exit."""
    import httpx

    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = home / "server.log"
    server = start_process(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        dict(clean_env(), PREFECT_HOME=str(home / "home")),
        log,
    )
    try:
        url = f"http://127.0.0.1:{port}/api"
        deadline = time.monotonic() + startup_seconds
        while True:
            assert server.poll() is None, log.read_text()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        yield PrefectServer(url=url, log=log, database=home / "home" / "prefect.db")
    finally:
        stop_process(server)
