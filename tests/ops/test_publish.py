"""Publishing for BI (SPEC 9): atomic replace, readers never blocked, failures keep the last good file."""

from __future__ import annotations

import duckdb
import pytest
from marts_fixture import make_marts_warehouse
from readers import BiReader

from flows.errors import LifecycleError
from flows.publish import publish_marts, published_info


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
