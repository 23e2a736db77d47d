"""Run SQL against a DuckDB file with whichever duckdb this python has; print JSON results.

Usage: `python client_query.py DBFILE QUERIES.json`. Runs under the project's DuckDB 2.0 and under
the older clients of old_clients.py (so it uses nothing newer than duckdb 1.1's Python API). Output:
{"version": ..., "results": [[row, ...] per query], "catalog": {...}}, values as JSON (dates,
decimals and timestamps as strings, floats rounded to 9 significant digits so engines that sum in
a different order still compare equal).
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal

import duckdb


def _value(v):
    if isinstance(v, float):
        return float(f"{v:.9g}")
    if isinstance(v, (int, str, bool)) or v is None:
        return v
    if isinstance(v, Decimal):
        return str(v)
    return str(v)


def main(db: str, queries_file: str) -> None:
    with open(queries_file) as f:
        queries = json.load(f)
    con = duckdb.connect(db, read_only=True)
    try:
        results = [[[_value(v) for v in row] for row in con.execute(q).fetchall()] for q in queries]
        tables = con.execute(
            "select table_name, comment from duckdb_tables() where database_name = current_database() "
            "and schema_name = 'main' order by 1"
        ).fetchall()
        columns = con.execute(
            "select table_name, column_name, data_type, comment from duckdb_columns() "
            "where database_name = current_database() and schema_name = 'main' and not internal "
            "and table_name in (select table_name from duckdb_tables()) order by 1, column_index"
        ).fetchall()
    finally:
        con.close()
    print(
        json.dumps(
            {
                "version": duckdb.__version__,
                "results": results,
                "tables": [list(t) for t in tables],
                "columns": [list(c) for c in columns],
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
