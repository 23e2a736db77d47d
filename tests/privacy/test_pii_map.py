"""Every text or JSON column the product builds is either declared personal (a kind in
flows/privacy/pii.py, redacted on erasure) or declared not personal: a new model or raw column
that carries personal data cannot slip past the erasure unmapped. Reads the session's built
warehouse (no build of its own)."""

from __future__ import annotations

import duckdb

from flows.privacy import pii

TEXT_TYPES = ("VARCHAR", "JSON")


def test_every_text_column_is_mapped(built_warehouse) -> None:
    con = duckdb.connect(str(built_warehouse.warehouse_path), read_only=True)
    try:
        rows = con.execute(
            "select table_schema, table_name, column_name, data_type from information_schema.columns "
            "where table_schema not in ('information_schema', 'pg_catalog')"
        ).fetchall()
    finally:
        con.close()
    unmapped = sorted(
        f"{schema}.{table}.{column} ({dtype})"
        for schema, table, column, dtype in rows
        if dtype.upper().startswith(TEXT_TYPES)
        and not column.startswith("_")
        and column.lower() not in pii.PII_COLUMNS
        and column.lower() not in pii.NOT_PERSONAL
    )
    assert not unmapped, (
        "text columns neither personal nor declared not personal in flows/privacy/pii.py: "
        + ", ".join(unmapped)
    )
    assert any(pii.kind_of(c, t) == pii.EMAIL for _, _, c, t in rows)
