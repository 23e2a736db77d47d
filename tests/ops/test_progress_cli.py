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
