"""A user's search for leftovers of erased persons, reusable by any test.

What a privacy officer would do after an erasure: take what they know about the person (every
address, the name, the phone, the hashes an ads platform received), then search every table and
column of every DuckDB file under the data dir, every Parquet file, the Prefect database and every
other file, byte for byte, except DIR/raw (the user's own landing files, out of scope by SPEC 10).

`person_needles` collects those values from a built warehouse BEFORE the erasure (afterwards there
is nothing left to collect, which is the point).
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import duckdb

from flows.email_rule import match_key, normalize_email

# Values too short or too common to mean a person (a first name alone is not searched: other
# persons share it; the full name is).
MIN_NEEDLE = 6


def _connect(path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path), read_only=True)
    con.execute("set enable_progress_bar = false")
    return con


def person_needles(warehouse: Path, emails: list[str]) -> dict[str, list[str]]:
    """{email: [values]} for each erased address: every address of the same person (identity
    map), the person's name and phone (dim_persons, raw Zendesk users), and the sha256 of each
    normalised address and match key (what the ads destination writes)."""
    con = _connect(warehouse)
    out: dict[str, list[str]] = {}
    try:
        for email in emails:
            key = match_key(email)
            persons = [
                r[0]
                for r in con.execute(
                    "select distinct person_id from intermediate.int_identity_map "
                    "where identifier_type = 'email' and lower(trim(identifier_value)) in (?, ?)",
                    [normalize_email(email), key],
                ).fetchall()
            ]
            values: set[str] = {email.lower()}
            if persons:
                marks = ", ".join("?" for _ in persons)
                values |= {
                    str(r[0]).lower()
                    for r in con.execute(
                        f"select identifier_value from intermediate.int_identity_map "
                        f"where person_id in ({marks}) and identifier_type = 'email'",
                        persons,
                    ).fetchall()
                }
                for name, phone in con.execute(
                    f"select name, phone from marts.dim_persons where person_id in ({marks})", persons
                ).fetchall():
                    values |= {str(v).lower() for v in (name, phone) if v}
            addresses = [v for v in values if "@" in v]
            for name, phone in con.execute(
                "select name, phone from raw.zendesk_users where lower(trim(email)) in "
                f"({', '.join('?' for _ in addresses)})",
                addresses,
            ).fetchall():
                values |= {str(v).lower() for v in (name, phone) if v}
            for address in addresses:
                for form in {normalize_email(address), match_key(address)} - {None}:
                    values.add(hashlib.sha256(str(form).encode()).hexdigest())
            out[email] = sorted(v for v in values if len(v) >= MIN_NEEDLE)
    finally:
        con.close()
    return out


def scan_duckdb(path: Path, needles: list[str]) -> list[str]:
    """`file:schema.table.column: needle` for every hit in any column (cast to text) of any table
    or view of a DuckDB file."""
    hits: list[str] = []
    con = _connect(path)
    try:
        con.execute("create temp table __needles (needle varchar)")
        con.executemany("insert into __needles values (?)", [[n.lower()] for n in needles])
        cols = con.execute(
            "select table_schema, table_name, list(column_name order by ordinal_position) "
            "from information_schema.columns where table_catalog = current_database() "
            "and table_schema not in ('information_schema', 'pg_catalog') group by all order by all"
        ).fetchall()
        for schema, table, columns in cols:
            # One pass per table over all its columns as one text, then per column only on a hit.
            row_text = "concat_ws(chr(31), " + ", ".join(f'cast(t."{c}" as varchar)' for c in columns) + ")"
            found = con.execute(
                f'select 1 from "{schema}"."{table}" as t join __needles as n '
                f"on contains(lower({row_text}), n.needle) limit 1"
            ).fetchall()
            if not found:
                continue
            for column in columns:
                rows = con.execute(
                    f'select distinct n.needle from "{schema}"."{table}" as t join __needles as n '
                    f'on contains(lower(cast(t."{column}" as varchar)), n.needle)'
                ).fetchall()
                hits += [f"{path.name}:{schema}.{table}.{column}: {r[0]}" for r in rows]
    finally:
        con.close()
    return hits


def scan_parquet(path: Path, needles: list[str]) -> list[str]:
    con = duckdb.connect()
    try:
        cols = [r[0] for r in con.execute(f"describe select * from read_parquet('{path}')").fetchall()]
        hits = []
        for column in cols:
            text = con.execute(
                f"select string_agg(lower(cast(\"{column}\" as varchar)), '\n') from read_parquet('{path}')"
            ).fetchall()[0][0]
            hits += [f"{path.name}.{column}: {n}" for n in needles if text and n.lower() in text]
        return hits
    finally:
        con.close()


def scan_sqlite(path: Path, needles: list[str]) -> list[str]:
    """Every text column of every table of a SQLite file (the Prefect database)."""
    hits: list[str] = []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        for (table,) in db.execute("select name from sqlite_master where type = 'table'").fetchall():
            for col in db.execute(f'pragma table_info("{table}")').fetchall():
                for needle in needles:
                    found = db.execute(
                        f'select 1 from "{table}" '
                        f'where instr(lower(cast("{col[1]}" as text)), ?) > 0 limit 1',
                        [needle.lower()],
                    ).fetchall()
                    if found:
                        hits.append(f"{path.name}:{table}.{col[1]}: {needle}")
    finally:
        db.close()
    return hits


def scan_files(root: Path, needles: list[str], skip: tuple[str, ...] = ("raw",)) -> list[str]:
    """`relative/path: needle` for every file under root holding a value: DuckDB, Parquet and
    SQLite files through their engines, every other file byte for byte (lower-cased)."""
    hits: list[str] = []
    lowered = [n.lower().encode() for n in needles]
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if not path.is_file() or (rel.parts and rel.parts[0] in skip):
            continue
        if path.suffix == ".duckdb":
            hits += [f"{rel}: {h}" for h in scan_duckdb(path, needles)]
            continue
        if path.suffix == ".parquet":
            hits += [f"{rel}: {h}" for h in scan_parquet(path, needles)]
            continue
        if path.suffix == ".db":
            hits += [f"{rel}: {h}" for h in scan_sqlite(path, needles)]
        data = path.read_bytes().lower()
        hits += [f"{rel}: {n.decode()}" for n in lowered if n in data]
    return hits


def scan_data_dir(root: Path, needles: list[str]) -> list[str]:
    """Everything the product wrote under DIR (not DIR/raw) that still holds any needle."""
    return scan_files(root, needles)
