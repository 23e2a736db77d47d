"""What a BI user finds in `published/`: BI-friendly types, descriptions, and the same marts as Parquet.

Issue 17 items 2-4. The published file comes from the session's real dbt build through the real
publish step (conftest `bi_published`); descriptions are read back with duckdb 1.1.3, the oldest
client the SPEC names, since comments must survive the v1.1.0 storage format.
"""

from __future__ import annotations

import re

import duckdb
import pytest

from tests.bi.clients import run_client
from tests.bi.old_clients import CLIENT_VERSIONS, ensure_client

ALLOWED = {"VARCHAR", "BIGINT", "INTEGER", "SMALLINT", "DOUBLE", "BOOLEAN", "DATE", "TIMESTAMP"}


def _columns(path) -> list[tuple[str, str, str]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(
            "select table_name, column_name, data_type from duckdb_columns() "
            "where database_name = current_database() and schema_name = 'main' order by 1, column_index"
        ).fetchall()
    finally:
        con.close()


def test_every_published_column_has_a_bi_friendly_type(bi_published) -> None:
    cols = _columns(bi_published.published_path)
    assert len({t for t, _, _ in cols}) >= 30
    bad = [
        (t, c, ty)
        for t, c, ty in cols
        if ty not in ALLOWED and not re.fullmatch(r"DECIMAL\(([1-9]|1[0-8]),\d+\)", ty)
    ]
    assert bad == []
    types = {(t, c): ty for t, c, ty in cols}
    # The SPEC's choices: counts BIGINT, money DECIMAL(18,2), rates DOUBLE, months DATE, times TIMESTAMP.
    assert types[("mart_email_monthly", "opens")] == "BIGINT"  # sum(bigint) was HUGEINT
    assert types[("mart_email_monthly", "open_rate")] == "DOUBLE"
    assert types[("mart_revenue", "net_revenue")] == "DECIMAL(18,2)"
    assert types[("fct_orders", "net_revenue")] == "DECIMAL(18,2)"
    assert types[("mart_cohort_retention", "cohort_month")] == "DATE"
    assert types[("dim_persons", "first_seen_at")] == "TIMESTAMP"


def test_tables_and_columns_carry_their_descriptions_in_duckdb_1_1(bi_published, tmp_path) -> None:
    got = run_client(ensure_client(CLIENT_VERSIONS[0]), bi_published.published_path, [], tmp_path)
    assert got["version"] == CLIENT_VERSIONS[0]
    tables = dict(got["tables"])
    assert all(tables.values()), [t for t, c in tables.items() if not c]
    per_table: dict[str, list[bool]] = {}
    for table, _column, _type, comment in got["columns"]:
        per_table.setdefault(table, []).append(bool(comment))
    short = {t: f"{sum(v)}/{len(v)}" for t, v in per_table.items() if sum(v) < 0.9 * len(v)}
    assert short == {}, f"tables with fewer than 90% of columns described: {short}"
    comments = {(t, c): comment for t, c, _, comment in got["columns"]}
    assert "Segment" in comments[("fct_web_events", "message_id")]


def test_parquet_beside_the_duckdb_file_is_the_same_run(bi_published) -> None:
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    parquet = bi_published.published_dir / "parquet"
    assert parquet.is_symlink() and parquet.is_dir()
    con = duckdb.connect(str(bi_published.published_path), read_only=True)
    try:
        info = con.execute("select table_name, row_count, run_id from publish_info").fetchall()
    finally:
        con.close()
    assert {f.stem for f in parquet.glob("*.parquet")} == {t for t, _, _ in info} | {"publish_info"}
    for table, rows, _run in info:
        assert len(pd.read_parquet(parquet / f"{table}.parquet")) == rows  # pandas (pyarrow)
        assert pl.read_parquet(parquet / f"{table}.parquet").height == rows  # polars
    assert set(pl.read_parquet(parquet / "publish_info.parquet")["run_id"]) == {info[0][2]}
    dtypes = pd.read_parquet(parquet / "mart_revenue.parquet").dtypes
    assert str(dtypes["orders"]) == "int64"
