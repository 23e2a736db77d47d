"""A user's search for leftovers: every text-castable column of every table and view of a DuckDB
file, and every file under a directory, for a list of values (case-insensitive)."""

from __future__ import annotations

from pathlib import Path

import duckdb


def scan_duckdb(path: Path, needles: list[str]) -> list[str]:
    """`schema.table.column: needle` for every hit."""
    hits: list[str] = []
    con = duckdb.connect(str(path), read_only=True)
    try:
        con.execute("set enable_progress_bar = false")
        con.execute("create temp table __needles (needle varchar)")
        con.executemany("insert into __needles values (?)", [[n.lower()] for n in needles])
        cols = con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where table_catalog = current_database() and table_schema not in ('information_schema', 'pg_catalog')"
        ).fetchall()
        for schema, table, column in cols:
            rows = con.execute(
                f'select distinct n.needle from "{schema}"."{table}" as t join __needles as n '
                f'on contains(lower(cast(t."{column}" as varchar)), n.needle)'
            ).fetchall()
            hits += [f"{schema}.{table}.{column}: {r[0]}" for r in rows]
    finally:
        con.close()
    return hits


def scan_files(root: Path, needles: list[str], skip: tuple[str, ...] = ("raw",)) -> list[str]:
    """`relative/path: needle` for every text or binary file under root holding a value."""
    hits: list[str] = []
    lowered = [n.lower().encode() for n in needles]
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if not path.is_file() or (rel.parts and rel.parts[0] in skip):
            continue
        data = path.read_bytes().lower()
        hits += [f"{rel}: {n.decode()}" for n in lowered if n in data]
    return hits
