"""`dbt_build_flow` runs dbt once and still reports every node (issue 20: no Prefect task per node).

From the user's side: the build's Prefect flow run holds a `lifecycle-dbt-nodes` table artifact with
one row per dbt node, failures first; a failing data test fails the build naming the test, and dbt's
run_results.json lists the same nodes. A copy of the session's built warehouse, one small selection.
"""

from __future__ import annotations

import json
import shutil
from types import SimpleNamespace

import duckdb
import pytest

from flows.errors import LifecycleError
from flows.settings import Settings, configure_environment
from flows.transform.build import layer_lines, node_results


def _artifact_rows(flow_run_id) -> list[dict]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey, FlowRunFilter

    with get_client(sync_client=True) as client:
        arts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["lifecycle-dbt-nodes"])),
            flow_run_filter=FlowRunFilter(id={"any_": [flow_run_id]}),
        )
    assert len(arts) == 1, arts
    data = arts[0].data
    return json.loads(data) if isinstance(data, str) else data


def test_one_invocation_reports_every_node_and_names_the_failed_test(
    prefect_harness, built_warehouse, tmp_path, request
) -> None:
    from flows.transform.build import dbt_build_flow

    settings = Settings(data_dir=tmp_path / "data")
    shutil.copytree(built_warehouse.root, settings.root)
    request.addfinalizer(configure_environment(settings).restore)
    select = "stg_marketing__spend"

    state = dbt_build_flow(settings, select=select, return_state=True)
    summary = state.result()
    assert summary.ok and summary.models == 1 and summary.tests_passed == 2, summary
    rows = _artifact_rows(state.state_details.flow_run_id)
    assert {r["node"].split(".")[-1] for r in rows} >= {"stg_marketing__spend"}
    assert len(rows) == 3 and {r["status"] for r in rows} <= {"success", "pass"}
    assert {r["layer"] for r in rows} == {"staging"}
    run_results = json.loads((settings.dbt_target_dir / "run_results.json").read_text())
    assert {r["unique_id"] for r in run_results["results"]} == {r["node"] for r in rows}

    con = duckdb.connect(str(settings.warehouse_path))
    # raw.spend declares NOT NULL; a copy without the constraint lets a bad value reach the dbt test.
    con.execute(
        "create or replace table raw.spend as select * replace "
        "(case when _line = (select min(_line) from raw.spend) then null else spend end as spend) "
        "from raw.spend"
    )
    con.close()
    state = dbt_build_flow(settings, select=select, return_state=True)
    assert state.is_failed()
    with pytest.raises(LifecycleError, match=r"not_null_stg_marketing__spend_spend \(fail\)"):
        state.result()
    rows = _artifact_rows(state.state_details.flow_run_id)
    assert rows[0]["status"] == "fail" and ".not_null_stg_marketing__spend_spend." in rows[0]["node"]
    assert rows[0]["message"], rows[0]  # dbt's own words ("Got 1 result, configured to fail if != 0")


def _r(rtype: str, status: str, fqn: list[str], seconds: float = 0.1, message: str = "") -> SimpleNamespace:
    node = SimpleNamespace(
        resource_type=rtype, name=fqn[-1], unique_id=f"{rtype}.lifecycle.{fqn[-1]}", fqn=fqn
    )
    return SimpleNamespace(node=node, status=status, execution_time=seconds, message=message)


def test_node_rows_put_failures_first_and_group_by_layer() -> None:
    results = [
        _r("model", "success", ["lifecycle", "staging", "segment", "stg_a"], 1.0),
        _r("test", "pass", ["lifecycle", "staging", "segment", "not_null_stg_a_id"]),
        _r("model", "success", ["lifecycle", "marts", "core", "dim_persons"], 2.0),
        _r("test", "fail", ["lifecycle", "marts", "core", "unique_dim_persons_id"], message="Got 3 results"),
        _r("seed", "success", ["lifecycle", "channel_map"]),
        _r("model", "skipped", ["lifecycle", "marts", "kpi", "mart_x"], 0.0),
    ]
    nodes = node_results(results)
    assert [n.status for n in nodes][:2] == ["fail", "skipped"]
    assert nodes[0].message == "Got 3 results" and nodes[-1].message == ""
    assert layer_lines(nodes) == [
        "dbt marts: 3 nodes (1 fail, 1 skipped, 1 success) in 2.1s",
        "dbt seed: 1 nodes (1 success) in 0.1s",
        "dbt staging: 2 nodes (1 pass, 1 success) in 1.1s",
    ]
