"""Sync state in the warehouse (SPEC section 8): runs, per-record last synced hash, dead letters.

It lives in schema `sync`, which dbt never touches, so `dbt build --full-refresh` cannot wipe what was
already sent. Diffs are computed set-based in DuckDB: the current export is hashed (sha256 of the JSON
of its exported columns) and compared with the last synced hash per (destination, segment, key).
The state only moves forward for records a destination confirmed, so the next run re-sends exactly
what changed or failed.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
import polars as pl

from flows.warehouse import relation_exists

SCHEMA = "sync"
KEY = "record_key"
DDL = f"""
create schema if not exists {SCHEMA};
create table if not exists {SCHEMA}.runs (
    run_id      varchar not null,
    started_at  timestamp not null,
    finished_at timestamp,
    status      varchar not null,      -- running | ok | partial | failed
    as_of       varchar,
    segments    varchar,
    summary     json
);
create table if not exists {SCHEMA}.results (
    run_id      varchar not null,
    segment     varchar not null,
    destination varchar not null,
    status      varchar not null,      -- ok | partial | failed | skipped
    rows        bigint not null,
    adds        bigint not null,
    changes     bigint not null,
    removes     bigint not null,
    failures    bigint not null,
    error       varchar,
    finished_at timestamp not null
);
create table if not exists {SCHEMA}.record_state (
    destination varchar not null,
    segment     varchar not null,
    record_key  varchar not null,
    record_hash varchar not null,
    record      json,                  -- the exported row as last synced (removes are written from it)
    run_id      varchar not null,
    synced_at   timestamp not null
);
create table if not exists {SCHEMA}.dead_letters (
    run_id      varchar not null,
    destination varchar not null,
    segment     varchar not null,
    record_key  varchar not null,
    record_hash varchar,
    op          varchar not null,      -- upsert | delete
    record      json,
    status_code integer,
    error       varchar not null,      -- secrets redacted
    failed_at   timestamp not null
);
"""


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def new_run_id() -> str:
    return f"{now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


def query_frame(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> pl.DataFrame:
    """A fully materialised polars frame (DuckDB 2.0: no `.pl()` on a connection result)."""
    return con.sql(sql, params=params or None).pl()


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)


def state_exists(con: duckdb.DuckDBPyConnection) -> bool:
    return relation_exists(con, f"{SCHEMA}.record_state")


@contextlib.contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> Iterator[str]:
    """Expose a polars frame to SQL under `name` for the duration of the block."""
    con.register(name, frame)
    try:
        yield name
    finally:
        con.unregister(name)


@dataclass
class Diff:
    """One (destination, segment) against its last successful sync.

    `current` is the full export with `record_key`, `record_hash`, `record` (JSON text) and the
    exported columns; adds/changes are subsets of it; `removes` has `record_key`, `record` and the
    exported columns read back from the last synced JSON.
    """

    destination: str
    segment: str
    columns: list[str]
    current: pl.DataFrame
    adds: pl.DataFrame
    changes: pl.DataFrame
    removes: pl.DataFrame

    @property
    def counts(self) -> dict[str, int]:
        return {
            "rows": self.current.height,
            "adds": self.adds.height,
            "changes": self.changes.height,
            "removes": self.removes.height,
        }


def _hashed(con: duckdb.DuckDBPyConnection, export: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Add `record` (canonical JSON of the exported columns) and its sha256 `record_hash`."""
    packed = ", ".join(f'"{c}" := e."{c}"' for c in columns)
    with registered(con, "__lifecycle_export", export):
        return query_frame(
            con,
            f"""
            select
                e.*,
                cast(to_json(struct_pack({packed})) as varchar) as record,
                sha256(cast(to_json(struct_pack({packed})) as varchar)) as record_hash
            from __lifecycle_export as e
            """,
        )


def compute_diff(
    con: duckdb.DuckDBPyConnection,
    destination: str,
    segment: str,
    export: pl.DataFrame,
    columns: list[str],
) -> Diff:
    """Adds, changes and removes of `export` (must have `record_key`) against the stored state."""
    current = _hashed(con, export.with_columns(pl.col(KEY).cast(pl.Utf8)), columns)
    # One catalog lookup per diff: information_schema queries cost tens of ms on a big warehouse.
    has_state = state_exists(con)
    previous_sql = (
        f"select record_key, record_hash, cast(record as varchar) as record from {SCHEMA}.record_state "
        "where destination = ? and segment = ?"
        if has_state
        else "select null::varchar as record_key, null::varchar as record_hash, "
        "null::varchar as record where false"
    )
    params = [destination, segment] if has_state else []
    with registered(con, "__lifecycle_current", current.select(KEY, "record_hash")):
        rows = query_frame(
            con,
            f"""
            with previous as ({previous_sql}),
            classified as (
                select
                    coalesce(c.record_key, p.record_key) as record_key,
                    case
                        when p.record_key is null then 'add'
                        when c.record_key is null then 'remove'
                        when p.record_hash <> c.record_hash then 'change'
                        else 'same'
                    end as kind,
                    p.record as previous_record
                from __lifecycle_current as c
                full outer join previous as p on p.record_key = c.record_key
            )
            select record_key, kind, previous_record from classified where kind <> 'same'
            """,
            params,
        )
    kinds = rows.select(KEY, "kind")
    adds = current.join(kinds.filter(pl.col("kind") == "add").drop("kind"), on=KEY, how="semi")
    changes = current.join(kinds.filter(pl.col("kind") == "change").drop("kind"), on=KEY, how="semi")
    removed = rows.filter(pl.col("kind") == "remove").select(KEY, pl.col("previous_record").alias("record"))
    removes = _expand_records(con, removed, columns)
    return Diff(destination, segment, columns, current, adds, changes, removes)


def _expand_records(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Turn stored JSON records back into text columns (removes are written from the last sync)."""
    extracted = ", ".join(f'json_extract_string(record, \'$."{c}"\') as "{c}"' for c in columns)
    with registered(con, "__lifecycle_removed", frame):
        return query_frame(
            con,
            f"select cast(record_key as varchar) as record_key, cast(record as varchar) as record, "
            f"{extracted} from __lifecycle_removed",
        )


def commit_records(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    destination: str,
    segment: str,
    upserts: pl.DataFrame,
    removed_keys: list[str],
) -> None:
    """Record what a destination confirmed (set-based; the caller owns the transaction)."""
    ts = now()
    if not upserts.is_empty() or removed_keys:
        keys = pl.concat(
            [
                upserts.select(pl.col(KEY).cast(pl.Utf8)),
                pl.DataFrame({KEY: removed_keys}, schema={KEY: pl.Utf8}),
            ]
        )
        with registered(con, "__lifecycle_keys", keys):
            con.execute(
                f"delete from {SCHEMA}.record_state where destination = ? and segment = ? "
                "and record_key in (select record_key from __lifecycle_keys)",
                [destination, segment],
            )
    if not upserts.is_empty():
        with registered(con, "__lifecycle_upserts", upserts.select(KEY, "record_hash", "record")):
            con.execute(
                f"insert into {SCHEMA}.record_state "
                "select ?, ?, record_key, record_hash, cast(record as json), ?, ? from __lifecycle_upserts",
                [destination, segment, run_id, ts],
            )


def record_dead_letters(
    con: duckdb.DuckDBPyConnection, run_id: str, destination: str, segment: str, letters: list[dict[str, Any]]
) -> None:
    """Insert dead letters: dicts with record_key, record_hash, op, record, status_code, error."""
    if not letters:
        return
    frame = pl.DataFrame(
        letters,
        schema={
            KEY: pl.Utf8,
            "record_hash": pl.Utf8,
            "op": pl.Utf8,
            "record": pl.Utf8,
            "status_code": pl.Int32,
            "error": pl.Utf8,
        },
    )
    with registered(con, "__lifecycle_dead", frame):
        con.execute(
            f"insert into {SCHEMA}.dead_letters select ?, ?, ?, record_key, record_hash, op, "
            "cast(record as json), status_code, error, ? from __lifecycle_dead",
            [run_id, destination, segment, now()],
        )


def start_run(con: duckdb.DuckDBPyConnection, run_id: str, as_of: str | None, segments: list[str]) -> None:
    con.execute(
        f"insert into {SCHEMA}.runs values (?, ?, null, 'running', ?, ?, null)",
        [run_id, now(), as_of, ",".join(segments)],
    )


def record_result(con: duckdb.DuckDBPyConnection, run_id: str, row: dict[str, Any]) -> None:
    con.execute(
        f"insert into {SCHEMA}.results values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run_id,
            row["segment"],
            row["destination"],
            row["status"],
            row["rows"],
            row["adds"],
            row["changes"],
            row["removes"],
            row["failures"],
            row.get("error"),
            now(),
        ],
    )


def finish_run(
    con: duckdb.DuckDBPyConnection, run_id: str, status: str, summary: list[dict[str, Any]]
) -> None:
    con.execute(
        f"update {SCHEMA}.runs set finished_at = ?, status = ?, summary = ? where run_id = ?",
        [now(), status, json.dumps(summary, default=str), run_id],
    )
