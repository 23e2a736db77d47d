"""Plain-function tests of the run's parts: summary, dbt result counting, progress, replay, run guard."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from flows.errors import WarehouseBusy
from flows.progress import progress_enabled, step
from flows.summary import FAILED, OK, SKIPPED, RunSummary, audience_sizes
from flows.transform.build import summarize_results
from flows.transform.replay import prepare_replay, replay_bounds
from flows.transform.run_guard import is_held, warehouse_guard
from flows.warehouse import connect, fetch_all

REPO = Path(__file__).resolve().parents[2]


def test_summary_final_line_names_the_first_failure() -> None:
    s = RunSummary(data_dir="/d")
    s.add("ingest", OK, "3 files")
    s.add("raw gate", FAILED, "raw gate failed: gate raw: FAILED web.message_id not null")
    s.add("dbt build", SKIPPED, "needs raw gate")
    assert not s.ok
    last = str(s).splitlines()[-1]
    assert last == (
        "lifecycle run FAILED at raw gate: raw gate failed: gate raw: FAILED web.message_id not null; "
        "skipped: dbt build"
    )
    assert "| raw gate | failed |" in s.to_markdown()


def test_summary_ok_allows_steps_skipped_by_design() -> None:
    s = RunSummary(data_dir="/d", mode="replay")
    s.add("dbt build", OK)
    s.add("sync", SKIPPED, "replay never pushes historical audiences")
    s.links["published marts"] = "/d/published/marts.duckdb"
    assert s.ok
    assert str(s).splitlines()[-1].startswith("lifecycle run OK (replay): 1 steps passed")


def test_audience_sizes_read_from_manifests(settings) -> None:
    d = settings.outbound_dir / "file" / "vip"
    d.mkdir(parents=True)
    (d / "manifest.json").write_text(
        '{"segment": "vip", "row_counts": {"latest": 5, "adds": 2, "removes": 1}}'
    )
    assert audience_sizes(settings) == [
        {"destination": "file", "segment": "vip", "rows": 5, "adds": 2, "removes": 1, "file": str(d)}
    ]


def _result(rtype: str, status: str, name: str = "n") -> SimpleNamespace:
    return SimpleNamespace(node=SimpleNamespace(resource_type=rtype, name=name), status=status)


def test_dbt_results_are_counted_by_type_and_status() -> None:
    results = [
        _result("model", "success"),
        _result("model", "success"),
        _result("seed", "success"),
        _result("test", "pass"),
        _result("test", "warn"),
        _result("test", "fail", "not_null_dim_persons_person_id"),
        _result("unit_test", "pass"),
        _result("model", "skipped"),
    ]
    s = summarize_results("build", results, 1.0, success=False)
    assert (s.models, s.seeds, s.tests_passed, s.tests_warned, s.tests_failed, s.unit_tests, s.skipped) == (
        2,
        1,
        1,
        1,
        1,
        1,
        1,
    )
    assert not s.ok and "test not_null_dim_persons_person_id (fail)" in s.summary_line()


def test_progress_is_quiet_in_ci(monkeypatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("LIFECYCLE_NO_PROGRESS", raising=False)
    assert progress_enabled(Tty())
    monkeypatch.setenv("CI", "true")
    assert not progress_enabled(Tty())
    out = io.StringIO()
    with step("dbt build", total=50, stream=out) as p:
        for _ in range(50):
            p.advance()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and lines[1].startswith("lifecycle: dbt build done (50/50 in")


def test_replay_copies_only_events_in_range(settings) -> None:
    con = connect(settings)
    con.execute(
        """
        insert into raw.segment_events (message_id, type, ts, message, _file, _line, _loaded_at)
        select 'm' || i, 'page', timestamp '2026-03-01' + to_hours(i * 12), '{}', 'f', i, now()
        from range(0, 20) t(i);
        insert into raw.erasure_requests values ('a@b.c', timestamp '2026-01-01', 'f', 1, now());
        insert into raw.rejects values ('web', 'f', 1, 'bad json', '{', now());
        """
    )
    con.close()
    target = prepare_replay(settings, date(2026, 3, 3), date(2026, 3, 5))
    assert target.root == settings.root / "replays" / "2026-03-03_2026-03-05"
    con = connect(target, read_only=True)
    try:
        rows = fetch_all(con, "select min(ts), max(ts), count(*) from raw.segment_events")[0]
        assert rows == (datetime(2026, 3, 3), datetime(2026, 3, 5, 12), 6)
        assert fetch_all(con, "select count(*) from raw.erasure_requests")[0][0] == 1  # never undone
        assert fetch_all(con, "select count(*) from raw.rejects")[0][0] == 0
    finally:
        con.close()
    assert replay_bounds(None, date(2026, 3, 5)) == (None, datetime(2026, 3, 6))


def test_guard_is_reentrant_in_one_process(settings) -> None:
    with warehouse_guard(settings):
        with warehouse_guard(settings):
            assert is_held(settings)
        assert is_held(settings)
    assert not is_held(settings)


def test_second_run_exits_with_a_clear_line(settings) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from flows.settings import Settings; from flows.warehouse import run_lock\n"
            "with run_lock(Settings(data_dir=sys.argv[1])):\n    print('held', flush=True); time.sleep(60)",
            str(settings.root),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        busy = f"another lifecycle run \\(pid {holder.pid}\\) is writing"
        with pytest.raises(WarehouseBusy, match=busy), warehouse_guard(settings):
            pass
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "flows.cli", "run", "--data-dir", str(settings.root)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 1
        assert proc.stderr.strip().splitlines()[-1] == (
            f"lifecycle run: another lifecycle run (pid {holder.pid}) is writing {settings.warehouse_path} "
            "(wait for it to finish, or run with a different --data-dir)"
        )
        assert time.monotonic() - started < 60
    finally:
        holder.kill()
        holder.wait()


def test_console_logs_drop_tracebacks_but_other_handlers_keep_them() -> None:
    import logging

    from flows.progress import quiet_tracebacks

    console, kept = io.StringIO(), []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            kept.append(record.exc_info)

    logger = logging.getLogger("prefect.lifecycle_ops_test")
    logger.propagate = False
    logger.addHandler(logging.StreamHandler(console))
    logger.addHandler(Keep())
    quiet_tracebacks(debug=False)
    try:
        raise ValueError("boom")
    except ValueError:
        logger.error("step failed", exc_info=True)
    assert console.getvalue() == "step failed\n"
    assert kept and kept[0] is not None  # the API handler still gets the trace for the UI
