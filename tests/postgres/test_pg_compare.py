"""Unit tests of the engine comparison (plain functions, no database)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flows.portability.dbt_postgres import downstream_models, python_models
from flows.portability.parity import Table, compare_tables


def test_equal_tables_in_any_order_and_numeric_type() -> None:
    duck = Table(("id", "rate", "at"), [("b", 0.3333333333, dt.datetime(2026, 1, 1)), ("a", None, None)])
    pg = Table(
        ("at", "id", "rate"),
        [(None, "a", None), (dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "b", Decimal("0.33333333333333333"))],
    )
    assert compare_tables("t", duck, pg).ok


def test_differences_are_reported() -> None:
    duck = Table(("id", "n"), [("a", 1), ("b", 2)])
    assert "row counts differ" in str(compare_tables("t", duck, Table(("id", "n"), [("a", 1)])))
    diff = compare_tables("t", duck, Table(("id", "n"), [("a", 1), ("b", 3)]))
    assert not diff.ok and "n=2.0 vs 3.0" in str(diff)
    diff = compare_tables("t", duck, Table(("id",), [("a",), ("b",)]))
    assert "columns differ" in str(diff)
    # A NULL is not a zero (SPEC 7: a rate with a zero denominator is NULL).
    assert not compare_tables("t", Table(("r",), [(None,)]), Table(("r",), [(0.0,)])).ok


def test_ignored_columns() -> None:
    a = Table(("id", "_built_at"), [("a", dt.datetime(2026, 1, 1))])
    b = Table(("id", "_built_at"), [("a", dt.datetime(2027, 1, 1))])
    assert compare_tables("t", a, b, ignore_columns=["_built_at"]).ok


def test_python_models_found_in_manifest() -> None:
    manifest = {
        "nodes": {
            "model.x.clv": {"resource_type": "model", "language": "python", "name": "clv"},
            "model.x.dim": {"resource_type": "model", "language": "sql", "name": "dim"},
            "test.x.t": {"resource_type": "test", "language": "python", "name": "t"},
        }
    }
    assert python_models(manifest) == ["clv"]


def test_downstream_of_python_models() -> None:
    manifest = {
        "nodes": {
            "model.x.clv": {"resource_type": "model", "name": "clv"},
            "model.x.value": {"resource_type": "model", "name": "value"},
            "model.x.report": {"resource_type": "model", "name": "report"},
            "model.x.other": {"resource_type": "model", "name": "other"},
        },
        "child_map": {
            "model.x.clv": ["model.x.value", "test.x.not_null"],
            "model.x.value": ["model.x.report"],
            "model.x.other": [],
        },
    }
    assert downstream_models(manifest, ["clv"]) == ["clv", "report", "value"]
