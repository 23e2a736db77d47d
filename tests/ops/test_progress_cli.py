"""Progress off a terminal (issue 16 item 4): one start and one end line per step on stdout, no ANSI."""

from __future__ import annotations

from flows.progress import step


def test_off_a_terminal_a_step_prints_one_start_and_one_end_line_on_stdout(capsys, monkeypatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("LIFECYCLE_NO_PROGRESS", raising=False)
    with step("dbt build", total=3) as progress:
        for _ in range(3):
            progress.advance()
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == 2, out
    assert lines[0] == "lifecycle: dbt build ..."
    assert lines[1].startswith("lifecycle: dbt build done (3/3 in ") and lines[1].endswith("s)")
    assert err == ""
    assert "\x1b" not in out


def test_a_failed_step_says_failed_with_its_count(capsys) -> None:
    try:
        with step("ingest") as progress:
            progress.advance(2)
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith("lifecycle: ingest failed (2 in ")


def test_lifecycle_build_off_a_terminal_shows_its_start_and_end_lines(
    prefect_harness, built_warehouse, tmp_path, capsys
) -> None:
    """The user's view: `lifecycle build` with stdout in a log file. The step lines are written inside
    a flow that runs with `log_prints=True`, where a plain print became a (hidden) Prefect log record
    and the log file showed nothing until the summary."""
    import shutil

    from flows.cli import main

    data = tmp_path / "data"
    shutil.copytree(built_warehouse.data_dir, data, ignore=shutil.ignore_patterns(".prefect"))
    capsys.readouterr()
    code = main(["build", "--select", "stg_marketing__spend", "--data-dir", str(data)])
    out = capsys.readouterr().out
    assert code == 0, out
    lines = [line for line in out.splitlines() if line.startswith("lifecycle: dbt build")]
    assert lines[0] == "lifecycle: dbt build ...", out
    assert lines[1].startswith("lifecycle: dbt build done (") and len(lines) == 2, out
    assert "\x1b" not in out


def test_lifecycle_build_on_a_terminal_shows_done_over_total_nodes(
    built_warehouse, prefect_server, tmp_path
) -> None:
    """The user's view on a terminal: `lifecycle build` in a pseudo-terminal draws a live bar that
    reads done/total dbt nodes (it read "23/?" before dbt's node count was passed on), and the end
    line gives the same total. The command talks to a persistent Prefect server, as a user's does."""
    import os
    import pty
    import re
    import select
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    data = tmp_path / "data"
    shutil.copytree(built_warehouse.data_dir, data, ignore=shutil.ignore_patterns(".prefect"))
    env = {k: v for k, v in prefect_server.env().items() if k not in ("CI", "LIFECYCLE_NO_PROGRESS")}
    env.update({"TERM": "xterm", "COLUMNS": "160"})
    primary, secondary = pty.openpty()
    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flows.cli",
            "build",
            "--select",
            "stg_marketing__spend+1",
            "--data-dir",
            str(data),
        ],
        cwd=repo,
        env=env,
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
    )
    os.close(secondary)
    chunks: list[bytes] = []
    while True:
        ready, _, _ = select.select([primary], [], [], 300)
        if not ready:
            proc.kill()
            break
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    assert proc.wait(timeout=60) == 0, b"".join(chunks).decode(errors="replace")[-3000:]
    os.close(primary)
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode(errors="replace"))
    import json

    ran = len(json.loads((data / "dbt_target" / "run_results.json").read_text())["results"])
    assert ran > 1
    # The live bar counted against dbt's own total, and the end line says every node of the total ran.
    # (While dbt parses, before its first node, the total is not known yet and the bar reads 0/?.)
    assert not re.search(r"\b[1-9]\d*/\?", screen), screen[-2000:]
    assert re.search(rf"\b\d+/{ran}\b", screen), screen[-2000:]
    assert f"dbt build done ({ran}/{ran} in " in screen, screen[-2000:]
