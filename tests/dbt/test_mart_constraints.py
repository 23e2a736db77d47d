"""not_null on contracted marts is an enforced constraint (issue 20, DECISIONS.md).

The 94 not_null data tests of the KPI and activation marts became contract constraints. What an
analyst sees: every such column is NOT NULL in the warehouse's own catalog, and a NULL cannot get in.
"""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest


def _declared_not_null(manifest: dict) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model" or not node["config"].get("contract", {}).get("enforced"):
            continue
        # a view cannot hold a constraint: its columns keep their not_null data tests
        assert node["config"]["materialized"] != "view" or not any(
            c.get("constraints") for c in node["columns"].values()
        ), node["name"]
        for col in node["columns"].values():
            if any(c["type"] == "not_null" for c in col.get("constraints", [])):
                out.setdefault(node["alias"], set()).add(col["name"])
    return out


def test_contracted_marts_refuse_nulls_in_their_declared_columns(built_warehouse, tmp_path) -> None:
    manifest = json.loads((built_warehouse.dbt_target_dir / "manifest.json").read_text())
    declared = _declared_not_null(manifest)
    assert sum(len(c) for c in declared.values()) >= 90 and "mart_funnel" in declared

    con = duckdb.connect(str(built_warehouse.warehouse_path), read_only=True)
    try:
        rows = con.execute(
            "select table_name, column_name from information_schema.columns where is_nullable = 'NO'"
        ).fetchall()
    finally:
        con.close()
    not_null = {}
    for table, column in rows:
        not_null.setdefault(table, set()).add(column)
    missing = {t: sorted(cols - not_null.get(t, set())) for t, cols in declared.items()}
    assert not {t: c for t, c in missing.items() if c}, missing

    copy = tmp_path / "copy.duckdb"  # the session warehouse is read-only for tests
    shutil.copy(built_warehouse.warehouse_path, copy)
    con = duckdb.connect(str(copy))
    try:
        with pytest.raises(duckdb.ConstraintException, match="NOT NULL"):
            con.execute("update marts.mart_funnel set visitors = null")
    finally:
        con.close()
