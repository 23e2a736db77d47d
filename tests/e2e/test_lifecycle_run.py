"""End to end: `lifecycle run` as a subprocess on small generated data, against a persistent Prefect server.

In order (one data dir, module scope, since each full run costs a dbt build):
1. a clean run while two BI readers hold the previously published file: exit 0, marts, audiences,
   report, published file, run-summary artifacts in Prefect; the readers never error or see half a file;
2. a replay over a date range equals a clean full build over only that range's raw data;
3. a run with gate-breaking input exits 1 with one precise line and leaves published/ and outbound/ untouched.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from pathlib import Path

import duckdb
import pytest

from tests.e2e.cli import lifecycle
from tests.ops.marts_fixture import make_marts_warehouse
from tests.ops.readers import BiReader

REPO = Path(__file__).resolve().parents[2]
# Each full run is a real ingest + GX gates + dbt build; generous timeout for loaded 2-core CI machines.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]
START = date(2026, 3, 2)
# Columns that record the build itself, not its result: the CLV fit's random id and wall-clock time.
BUILD_METADATA = {"fit_id", "fitted_at"}


def _tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def first_run(env, tmp_path_factory):
    """Generate, pre-publish a placeholder marts file, then one full run with BI readers attached."""
    from flows.publish import publish_marts
    from flows.settings import Settings

    root = tmp_path_factory.mktemp("e2e")
    data = root / "data"
    gen = lifecycle(
        env, "generate", "--data-dir", str(data), "--customers", "150", "--days", "75",
        "--seed", "11", "--start", START.isoformat(), "--dirty-rate", "0",
    )  # fmt: skip
    assert gen.returncode == 0, gen.stderr
    # A published file from an earlier "run", which BI readers hold open during the real run.
    placeholder = Settings(data_dir=root / "placeholder")
    make_marts_warehouse(placeholder.warehouse_path, persons=40)
    (data / "published").mkdir(parents=True)
    publish_marts(placeholder, run_id="placeholder").rename(data / "published" / "marts.duckdb")

    holder = BiReader(data / "published" / "marts.duckdb", root, "hold")
    reopener = BiReader(data / "published" / "marts.duckdb", root, "reopen")
    try:
        proc = lifecycle(env, "run", "--data-dir", str(data))
    finally:
        readers = {"hold": holder.finish(), "reopen": reopener.finish()}
    return Settings(data_dir=data), proc, readers


def test_clean_run_publishes_marts_audiences_and_report(first_run) -> None:
    settings, proc, _ = first_run
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("lifecycle run OK (incremental)"), last
    # The log a scheduler keeps (stdout off a terminal): one start and one end line per step, the
    # dbt build's with its node count over dbt's total, and no step claiming to have done "0".
    starts = [ln for ln in proc.stdout.splitlines() if ln.startswith("lifecycle: ") and ln.endswith(" ...")]
    assert len(starts) == len(set(starts)), starts
    build_end = [ln for ln in proc.stdout.splitlines() if ln.startswith("lifecycle: dbt build done (")]
    assert len(build_end) == 1 and re.match(r"lifecycle: dbt build done \((\d+)/\1 in ", build_end[0]), (
        build_end
    )
    assert "(0 in " not in proc.stdout
    con = duckdb.connect(str(settings.published_path), read_only=True)
    try:
        stages = dict(con.execute("select lifecycle_stage, count(*) from dim_persons group by 1").fetchall())
        assert sum(stages.values()) > 0 and len(stages) >= 2, stages
        assert con.execute("select count(*) from mart_cohort_retention").fetchall()[0][0] > 0
        assert con.execute("select count(distinct run_id) from publish_info").fetchall()[0][0] == 1
    finally:
        con.close()
    assert list(settings.outbound_dir.glob("*/*/latest.csv")), "no audience files"
    report = (settings.reports_dir / "index.html").read_text()
    assert 'data-panel="Lifecycle funnel" data-state="ok"' in report


def test_bi_readers_were_never_blocked_during_the_run(first_run) -> None:
    settings, proc, readers = first_run
    assert proc.returncode == 0
    hold, reopen = readers["hold"], readers["reopen"]
    assert hold["errors"] == [] and reopen["errors"] == []
    assert hold["iterations"] > 10 and reopen["iterations"] > 10
    assert hold["runs"] == ["placeholder"]  # the open connection kept its whole snapshot throughout
    con = duckdb.connect(str(settings.published_path), read_only=True)
    new_run = con.execute("select any_value(run_id) from publish_info").fetchall()[0][0]
    con.close()
    assert reopen["runs"] == ["placeholder", new_run]  # then the new file, whole


def _table_rows(data: str) -> list[dict]:
    rows = json.loads(data)
    return json.loads(rows) if isinstance(rows, str) else rows  # a table artifact is JSON in JSON


def test_run_summary_artifacts_are_in_prefect(first_run, prefect_server) -> None:
    """The run's artifacts as the Prefect server stored them."""
    settings, proc, _ = first_run
    assert proc.returncode == 0
    arts = prefect_server.artifacts(settings.root)
    assert {"lifecycle-run-summary", "lifecycle-run-steps", "lifecycle-ingest", "lifecycle-dbt-build"} <= set(
        arts
    )
    summary = json.loads(arts["lifecycle-run-summary"])
    assert "## Steps" in summary and "## Ingest" in summary and str(settings.published_path) in summary
    rows = _table_rows(arts["lifecycle-run-steps"])
    # erasure requests are applied right after ingest, before anything reads raw (SPEC 10)
    assert [r["step"] for r in rows][:5] == ["ingest", "erasure", "raw gate", "dbt build", "mart gate"]


def test_production_run_leaves_unit_tests_out_and_ci_runs_every_one(first_run, prefect_server) -> None:
    """The scheduled run skips dbt unit tests (fixed inputs, same answer every run); here they all run."""
    from flows.transform.dbt import run_dbt

    settings, proc, _ = first_run
    assert proc.returncode == 0
    build = prefect_server.artifacts(settings.root)["lifecycle-dbt-build"]
    counts = {r["item"]: r["count"] for r in _table_rows(build)}
    assert counts["unit tests"] == 0 and counts["tests passed"] > 100, counts

    result = run_dbt(settings, ["test", "--select", "test_type:unit"])
    manifest = json.loads((settings.dbt_target_dir / "manifest.json").read_text())
    passed = {r.node.unique_id for r in result.result.results if str(r.status) == "pass"}
    assert len(manifest["unit_tests"]) >= 16
    assert passed == set(manifest["unit_tests"])


def test_replay_over_a_range_equals_a_clean_build_of_that_range(first_run, env, tmp_path) -> None:
    from flows.settings import Settings, configure_environment
    from flows.transform.dbt import run_dbt
    from flows.warehouse import connect, open_for_read

    settings, proc, _ = first_run
    assert proc.returncode == 0
    lo, hi = "2026-03-20", "2026-04-25"
    replay = lifecycle(env, "run", "--data-dir", str(settings.root), "--start-date", lo, "--end-date", hi)
    assert replay.returncode == 0, replay.stdout[-3000:] + replay.stderr[-2000:]
    replay_wh = settings.root / "replays" / f"{lo}_{hi}" / "warehouse.duckdb"

    # The oracle: a fresh warehouse holding only that range's raw events, built from scratch.
    clean = Settings(data_dir=tmp_path / "clean")
    con = connect(clean)
    con.execute(f"attach '{settings.warehouse_path}' as src (read_only)")
    where = f"between timestamp '{lo}' and timestamp '{hi} 23:59:59.999999'"
    for table, cond in {
        "segment_events": f"ts {where}",
        "sendgrid_events": f"ts {where}",
        "zendesk_tickets": f"updated_at {where}",
        "zendesk_ticket_metrics": f"updated_at {where}",
        "spend": f"date between date '{lo}' and date '{hi}'",
        "zendesk_users": "true",
        "erasure_requests": "true",
    }.items():
        con.execute(f"insert into raw.{table} by name select * from src.raw.{table} where {cond}")
    con.execute("detach src")
    con.close()
    configure_environment(clean)
    run_dbt(clean, ["build", "--full-refresh"])

    con = open_for_read(clean.warehouse_path)  # in-process dbt-duckdb may still hold it open
    con.execute(f"attach '{replay_wh}' as replay (read_only)")
    tables = [t for (t,) in con.execute(
        "select table_name from information_schema.tables where table_catalog = 'warehouse' "
        "and table_schema = 'marts' order by 1"
    ).fetchall()]  # fmt: skip
    assert "dim_persons" in tables
    differing = {}
    for t in tables:
        cols = ", ".join(
            f'"{c}"'
            for (c,) in con.execute(
                "select column_name from information_schema.columns where table_catalog = 'warehouse' "
                "and table_schema = 'marts' and table_name = ? order by ordinal_position",
                [t],
            ).fetchall()
            if c not in BUILD_METADATA
        )
        a, b = f"select {cols} from marts.{t}", f"select {cols} from replay.marts.{t}"
        a_minus_b = con.execute(f"select count(*) from ({a} except all {b})").fetchall()[0][0]
        b_minus_a = con.execute(f"select count(*) from ({b} except all {a})").fetchall()[0][0]
        if a_minus_b or b_minus_a:
            differing[t] = (a_minus_b, b_minus_a)
    persons = con.execute("select count(*) from replay.marts.dim_persons").fetchall()[0][0]
    con.close()
    assert differing == {}
    assert persons > 0
    assert (settings.root / "replays" / f"{lo}_{hi}" / "published" / "marts.duckdb").exists()


def test_gate_breaking_input_fails_clearly_and_touches_nothing_published(first_run, env) -> None:
    settings, proc, _ = first_run
    assert proc.returncode == 0
    published_before = _tree_digest(settings.published_dir)
    outbound_before = _tree_digest(settings.outbound_dir)
    bad = [
        {
            "email": f"not-an-email-{i}",
            "timestamp": 1775000000 + i,
            "event": "delivered",
            "sg_event_id": f"bad-{i}",
            "sg_message_id": f"bad-msg-{i}",
        }
        for i in range(400)
    ]
    (settings.raw_dir / "email" / "zz_broken_batch.json").write_text(json.dumps(bad))
    proc = lifecycle(env, "run", "--data-dir", str(settings.root))
    assert proc.returncode == 1
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("lifecycle run FAILED at raw gate: gate raw: FAILED raw_email.email_format"), last
    assert last.endswith("skipped: dbt build, mart gate, publish, sync, report"), last
    assert _tree_digest(settings.published_dir) == published_before
    assert _tree_digest(settings.outbound_dir) == outbound_before
