"""Publishing for BI (SPEC 9): atomic replace, readers never blocked, failures keep the last good file."""

from __future__ import annotations

import duckdb
import pytest

from flows.errors import LifecycleError
from flows.publish import publish_marts, published_info
from tests.ops.marts_fixture import make_marts_warehouse
from tests.ops.readers import BiReader


def _counts(path) -> dict[str, int]:
    return dict(published_info(path))


def test_publish_copies_marts_and_catalog_with_counts(marts_settings) -> None:
    path = publish_marts(marts_settings, run_id="r1")
    assert path == marts_settings.published_path
    info = _counts(path)
    assert info["dim_persons"] == 300 and info["products"] == 9
    con = duckdb.connect(str(path), read_only=True)
    try:
        # BI tools query plain names; the catalog is named after the file (marts.<table> also works).
        assert con.execute("select count(*) from dim_persons").fetchall()[0][0] == 300
        assert con.execute("select count(*) from marts.fct_orders").fetchall()[0][0] == 300
    finally:
        con.close()
    assert not list(marts_settings.published_dir.glob(".marts-*"))


def test_readers_are_never_blocked_and_see_whole_snapshots(marts_settings, tmp_path) -> None:
    publish_marts(marts_settings, run_id="first")
    holder = BiReader(marts_settings.published_path, tmp_path, "hold")
    reopener = BiReader(marts_settings.published_path, tmp_path, "reopen")
    try:
        for i in range(6):  # the warehouse changes between publishes, like successive runs
            make_marts_warehouse(marts_settings.warehouse_path, persons=200 + 150 * i)
            publish_marts(marts_settings, run_id=f"run{i}")
    finally:
        held, fresh = holder.finish(), reopener.finish()
    assert held["errors"] == [] and fresh["errors"] == []
    assert held["iterations"] > 5 and fresh["iterations"] > 5
    assert held["runs"] == ["first"]  # the open connection kept its consistent snapshot
    assert len(fresh["runs"]) >= 2 and fresh["runs"][-1] == "run5"  # reconnects saw new whole publishes
    assert _counts(marts_settings.published_path)["dim_persons"] == 200 + 150 * 5


def test_failed_publish_leaves_last_good_file(marts_settings, monkeypatch) -> None:
    publish_marts(marts_settings, run_id="good")
    before = marts_settings.published_path.read_bytes()

    def broken_verify(path, run_id):
        raise LifecycleError("simulated crash after copying")

    monkeypatch.setattr("flows.publish._verify", broken_verify)
    make_marts_warehouse(marts_settings.warehouse_path, persons=50)
    with pytest.raises(LifecycleError, match="simulated crash"):
        publish_marts(marts_settings, run_id="bad")
    assert marts_settings.published_path.read_bytes() == before
    assert not list(marts_settings.published_dir.glob(".marts-*"))


def test_nothing_to_publish_is_a_clear_error(settings) -> None:
    with pytest.raises(LifecycleError, match="does not exist"):
        publish_marts(settings)
    duckdb.connect(str(settings.warehouse_path)).close()
    with pytest.raises(LifecycleError, match="no marts"):
        publish_marts(settings)
    assert not settings.published_path.exists()


def test_stale_temp_files_from_a_crash_are_swept(marts_settings) -> None:
    marts_settings.published_dir.mkdir(parents=True)
    stale = marts_settings.published_dir / ".marts-dead.duckdb.tmp"
    stale.write_bytes(b"half written")
    publish_marts(marts_settings)
    assert not stale.exists()


def test_publish_and_report_work_while_this_process_holds_the_warehouse_open(marts_settings) -> None:
    """Inside `lifecycle run` other steps may keep a read-write connection open in-process."""
    from flows.report import build_report

    held = duckdb.connect(str(marts_settings.warehouse_path))
    try:
        publish_marts(marts_settings, run_id="shared")
        report = build_report(marts_settings, source=marts_settings.warehouse_path)
    finally:
        held.close()
    assert _counts(marts_settings.published_path)["dim_persons"] == 300
    assert 'data-panel="Lifecycle funnel" data-state="ok"' in report.read_text()


def test_parquet_is_published_with_the_file_and_swapped_whole(marts_settings) -> None:
    import polars as pl

    publish_marts(marts_settings, run_id="p1")
    make_marts_warehouse(marts_settings.warehouse_path, persons=120)
    publish_marts(marts_settings, run_id="p2")
    parquet = marts_settings.published_dir / "parquet"
    assert parquet.is_symlink()
    assert pl.read_parquet(parquet / "dim_persons.parquet").height == 120
    assert set(pl.read_parquet(parquet / "publish_info.parquet")["run_id"]) == {"p2"}
    versions = sorted(p.name for p in (marts_settings.published_dir / ".parquet-versions").iterdir())
    assert len(versions) == 2 and versions[1].startswith("p2-")  # the previous one kept for readers


def test_kill_9_mid_publish_keeps_the_last_good_publish_and_the_next_one_sweeps(
    marts_settings, tmp_path
) -> None:
    """A publish killed after writing its Parquet and DuckDB copies, before renaming them in."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import polars as pl

    publish_marts(marts_settings, run_id="good")
    make_marts_warehouse(marts_settings.warehouse_path, persons=77)
    marker = tmp_path / "copied"
    script = (
        "import sys, time, pathlib\n"
        "import flows.publish as p\n"
        "from flows.settings import Settings\n"
        "real = p._verify_parquet\n"
        "def slow(*a):\n"
        "    real(*a); pathlib.Path(sys.argv[2]).touch(); time.sleep(60)\n"
        "p._verify_parquet = slow\n"
        "p.publish_marts(Settings(data_dir=sys.argv[1]), run_id='killed')\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script, str(marts_settings.root), str(marker)])
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "publish ended before the kill point"
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    published = marts_settings.published_dir
    assert _counts(marts_settings.published_path)["dim_persons"] == 300  # the last good publish
    assert set(pl.read_parquet(published / "parquet" / "publish_info.parquet")["run_id"]) == {"good"}
    assert list(published.glob(".marts-killed*"))  # the killed run's litter, until the next publish
    publish_marts(marts_settings, run_id="next")
    assert not list(published.glob(".marts-*")) and not list(published.glob(".parquet-*.tmp"))
    versions = [p.name for p in (published / ".parquet-versions").iterdir()]
    assert not [v for v in versions if v.startswith("killed")]
    assert _counts(marts_settings.published_path)["dim_persons"] == 77
