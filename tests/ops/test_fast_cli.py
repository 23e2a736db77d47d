"""Fast failures and fast reads (issue 16 item 5), from the user's side: the real `lifecycle` command.

A config error must arrive before any Prefect server starts, and the read-only commands must not
start one. "No server started" is checked where Prefect would leave its trace: the temporary
server creates its database under DIR/.prefect (PREFECT_HOME) as it starts.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.ops.marts_fixture import make_marts_warehouse

REPO = Path(__file__).resolve().parents[2]
# Python start-up plus YAML checks take ~0.6 s CPU; the wall-clock bound leaves room for a loaded
# CI machine while still failing if a Prefect server (15-20 s) were started first.
CONFIG_ERROR_BOUND_S = 10.0


def _lifecycle(*args: str, env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess, float]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "LIFECYCLE_"))}
    full_env.update(env or {})
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "flows.cli", *args],
        cwd=REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return proc, time.monotonic() - started


def _prefect_started(data_dir: Path) -> bool:
    home = data_dir / ".prefect"
    return home.is_dir() and any(p.name.startswith("prefect.db") for p in home.iterdir())


def test_segments_error_arrives_before_any_server_with_file_line_and_closest_key(tmp_path) -> None:
    bad = tmp_path / "segments.yml"
    text = (REPO / "segments.yml").read_text()
    assert "    fields: [person_id, email, name, last_order_at" in text
    bad.write_text(
        text.replace(
            "    fields: [person_id, email, name, last_order_at",
            "    feilds: [person_id, email, name, last_order_at",
            1,
        )
    )
    line = next(i for i, ln in enumerate(bad.read_text().splitlines(), 1) if "feilds:" in ln)
    data = tmp_path / "data"
    for command in (["run"], ["sync"], ["serve", "--ingest-interval", "60"]):
        proc, elapsed = _lifecycle(
            *command, "--data-dir", str(data), env={"LIFECYCLE_SEGMENTS_FILE": str(bad)}
        )
        assert proc.returncode == 1, proc.stderr
        assert proc.stderr.splitlines() == [
            f"lifecycle {command[0]}: segments.yml line {line}: segment 'win_back': "
            "unknown key 'feilds' (did you mean 'fields'?)"
        ]
        assert elapsed < CONFIG_ERROR_BOUND_S
        assert not _prefect_started(data)


def test_report_reads_without_a_prefect_server(tmp_path) -> None:
    data = tmp_path / "data"
    make_marts_warehouse(data / "warehouse.duckdb")
    proc, _ = _lifecycle("report", "--data-dir", str(data))
    assert proc.returncode == 0, proc.stderr
    # last line: without a dbt manifest the glossary parses the project first and dbt prints its
    # own lines above (flows/glossary.py, reported to the lead); the path is what the command says
    assert proc.stdout.strip().splitlines()[-1] == str(data / "reports" / "index.html")
    assert (data / "reports" / "index.html").stat().st_size > 1000
    assert proc.stderr == ""
    assert not _prefect_started(data)


def test_which_commands_need_prefect(monkeypatch) -> None:
    from flows.cli import _parser, uses_prefect

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    parse = _parser().parse_args
    without = [["report"], ["check"], ["publish"], ["generate"], ["sync", "--dry-run"]]
    assert [uses_prefect(parse(a)) for a in without] == [False] * len(without)
    needs = [["run"], ["build"], ["ingest"], ["sync"], ["serve"]]
    assert [uses_prefect(parse(a)) for a in needs] == [True] * len(needs)
    # with a server configured, read-only commands run as flows too, so they show in its UI
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    assert uses_prefect(parse(["report"]))


def test_sync_dry_run_reads_without_a_prefect_server(built_warehouse, tmp_path) -> None:
    """The marketer's preview: `lifecycle sync --dry-run` prints every segment/destination's adds,
    changes and removes, and the skipped optional destinations with their reason, without waiting
    for a Prefect server and without writing anything."""
    import hashlib
    import shutil

    data = tmp_path / "data"
    shutil.copytree(built_warehouse.data_dir, data, ignore=shutil.ignore_patterns(".prefect"))
    before = hashlib.sha256((data / "warehouse.duckdb").read_bytes()).hexdigest()
    proc, _ = _lifecycle("sync", "--dry-run", "--data-dir", str(data))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "(dry run: nothing written)" in out.splitlines()[0]
    assert "win_back" in out and "dry-run" in out
    assert "skipped: no credentials (environment variable LIFECYCLE_MAILCHIMP_API_KEY is not set)" in out
    assert proc.stderr == ""
    assert not _prefect_started(data)
    assert hashlib.sha256((data / "warehouse.duckdb").read_bytes()).hexdigest() == before
