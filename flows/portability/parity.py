"""Compare what DuckDB and a second engine (PostgreSQL, Spark) built from the same raw data, row by row.

The marts are small (one row per person, or per period and dimension), so the comparison reads
them whole. Values are normalised before comparing: numbers become floats compared with a relative
tolerance (DuckDB doubles vs PostgreSQL numerics differ in the last digits, never in meaning),
timezone-aware timestamps become naive UTC, and rows are sorted, since neither engine promises an
order.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from flows.portability.raw_copy import PostgresConnection, open_for_reading
from flows.warehouse import quote_ident

REL_TOL = 1e-6
ABS_TOL = 1e-6


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


@dataclass
class TableDiff:
    """Differences between the same table on two engines; empty means they agree."""

    name: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        return f"{self.name}: " + ("identical" if self.ok else "; ".join(self.problems))


def _normalise(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float | Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, list | tuple):
        return tuple(_normalise(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _normalise(v)) for k, v in value.items()))
    return value


def _sort_key(row: Sequence[Any]) -> tuple:
    """Sort key robust to NULLs, mixed types and float noise (floats rounded for ordering only)."""
    key = []
    for v in row:
        if v is None:
            key.append((0, ""))
        elif isinstance(v, float):
            key.append((1, f"{round(v, 4):.4f}" if math.isfinite(v) else str(v)))
        else:
            key.append((1, str(v)))
    return tuple(key)


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) and math.isnan(b):
            return True
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    return a == b


def compare_tables(name: str, left: Table, right: Table, ignore_columns: Iterable[str] = ()) -> TableDiff:
    """Row-by-row comparison on the columns both sides have (a missing column is itself a difference)."""
    diff = TableDiff(name)
    ignored = set(ignore_columns)
    left_cols = [c for c in left.columns if c not in ignored]
    right_cols = [c for c in right.columns if c not in ignored]
    if set(left_cols) != set(right_cols):
        only_l = sorted(set(left_cols) - set(right_cols))
        only_r = sorted(set(right_cols) - set(left_cols))
        diff.problems.append(f"columns differ (only left: {only_l}, only right: {only_r})")
    common = [c for c in left_cols if c in set(right_cols)]
    if len(left.rows) != len(right.rows):
        diff.problems.append(f"row counts differ: {len(left.rows)} vs {len(right.rows)}")

    def project(table: Table) -> list[tuple]:
        index = [table.columns.index(c) for c in common]
        return sorted((tuple(_normalise(row[i]) for i in index) for row in table.rows), key=_sort_key)

    lrows, rrows = project(left), project(right)
    mismatches = 0
    for lrow, rrow in zip(lrows, rrows, strict=False):
        bad = [c for c, a, b in zip(common, lrow, rrow, strict=True) if not _equal(a, b)]
        if bad:
            mismatches += 1
            if mismatches <= 3:
                detail = ", ".join(
                    f"{c}={lrow[common.index(c)]!r} vs {rrow[common.index(c)]!r}" for c in bad[:4]
                )
                diff.problems.append(f"row differs: {detail}")
    if mismatches > 3:
        diff.problems.append(f"... {mismatches} differing rows in all")
    return diff


def duckdb_tables(warehouse_path: Path, schema: str) -> list[str]:
    con = open_for_reading(warehouse_path)
    try:
        rows = con.execute(
            "select table_name from information_schema.tables where table_schema = ? order by 1", [schema]
        ).fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


def read_duckdb_table(warehouse_path: Path, schema: str, table: str) -> Table:
    con = open_for_reading(warehouse_path)
    try:
        cur = con.execute(f"select * from {quote_ident(schema)}.{quote_ident(table)}")
        columns = tuple(d[0] for d in cur.description)
        rows = cur.fetchall()
    finally:
        con.close()
    return Table(columns, rows)


def postgres_tables(pg: PostgresConnection, schema: str) -> list[str]:
    con = pg.connect()
    try:
        cur = con.cursor()
        cur.execute(
            "select table_name from information_schema.tables where table_schema = %s order by 1", (schema,)
        )
        return [r[0] for r in cur.fetchall()]
    finally:
        con.close()


def read_postgres_table(pg: PostgresConnection, schema: str, table: str) -> Table:
    con = pg.connect()
    try:
        cur = con.cursor()
        cur.execute(f"select * from {quote_ident(schema)}.{quote_ident(table)}")
        columns = tuple(d[0] for d in cur.description)
        rows = cur.fetchall()
    finally:
        con.close()
    return Table(columns, rows)


def spark_tables(spark: Any, schema: str) -> list[str]:
    """Tables and views of `schema` in a SparkSession's catalog."""
    return sorted(t.name for t in spark.catalog.listTables(schema))


def read_spark_table(spark: Any, schema: str, table: str) -> Table:
    """A whole Spark table as rows of Python values (Decimal, datetime, date, ...).

    Timestamps are TIMESTAMP_NTZ in the build's session (flows/portability/dbt_spark.py), so they
    arrive as the same naive UTC datetimes DuckDB returns.
    """
    frame = spark.table(f"{schema}.{table}")
    return Table(tuple(frame.columns), [tuple(row) for row in frame.collect()])


# Reads one (schema, table) of the second engine.
TableReader = Callable[[str, str], Table]

# Columns that record when or where a build ran, not what it computed.
VOLATILE_COLUMNS = ("_built_at", "built_at", "_loaded_at", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to")


def marts_to_compare(
    duckdb_marts: Iterable[str], other_marts: Iterable[str], excluded: Iterable[str]
) -> tuple[list[str], list[str]]:
    """(compared, missing): dim_persons and the KPI marts both engines built, and the marts or
    dimensions DuckDB built that the other engine did not, though they were not excluded."""
    duck, other, left_out = set(duckdb_marts), set(other_marts), set(excluded)
    compared = sorted(t for t in duck & other if t.startswith("mart_") or t == "dim_persons")
    missing = sorted(t for t in duck - other if t.startswith(("mart_", "dim_")) and t not in left_out)
    return compared, missing


def compare_engines(
    warehouse_path: Path,
    other: PostgresConnection | TableReader,
    tables: Iterable[tuple[str, str]],
    ignore_columns: Iterable[str] = (),
) -> list[TableDiff]:
    """Compare `(schema, table)` pairs between the DuckDB warehouse and a second engine: a
    PostgreSQL connection, or any reader of `(schema, table)` (e.g. `functools.partial(
    read_spark_table, spark)`)."""
    if isinstance(other, PostgresConnection):
        pg = other

        def read_other(schema: str, table: str) -> Table:
            return read_postgres_table(pg, schema, table)

    else:
        read_other = other
    ignored = tuple(ignore_columns)
    return [
        compare_tables(
            f"{schema}.{table}",
            read_duckdb_table(warehouse_path, schema, table),
            read_other(schema, table),
            ignored,
        )
        for schema, table in tables
    ]
