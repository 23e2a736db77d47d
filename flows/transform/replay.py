"""Backfill / replay over a date range: rebuild from raw, restricted to events in the range.

Definition (see DECISIONS.md "Replay over a date range"): a replay of [start, end] is exactly a clean
full run over the raw rows whose event time falls in [start 00:00, end + 1 day 00:00) UTC, with
`as_of` defaulting as always to the latest event in that data. Reference data that is not an event
is kept whole: Zendesk users (identity lookup) and erasure requests (an erasure is never undone by
a replay). Load bookkeeping (manifest, rejects, API cursors) is not copied.

Why a separate warehouse (`DIR/replays/<start>_<end>/warehouse.duckdb`): the live marts, the
published file and the audiences keep reflecting all data while a backfill is inspected, and the
replay is reproducible: it is rebuilt from scratch each time.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime, time, timedelta

from flows.settings import Settings
from flows.warehouse import connect, fetch_all

# raw table -> column holding the event time used to restrict a replay; None keeps every row.
EVENT_TIME_COLUMNS: dict[str, str | None] = {
    "segment_events": "ts",
    "sendgrid_events": "ts",
    "zendesk_tickets": "updated_at",
    "zendesk_ticket_metrics": "updated_at",
    "spend": "date",
    "zendesk_users": None,
    "erasure_requests": None,
}
# Load bookkeeping, never part of a replay.
NOT_COPIED = {"rejects", "load_manifest", "api_cursors"}


def replay_bounds(start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
    """Half-open [start 00:00, end+1 00:00) in naive UTC, as raw timestamps are stored."""
    lo = datetime.combine(start, time.min) if start else None
    hi = datetime.combine(end + timedelta(days=1), time.min) if end else None
    return lo, hi


def replay_settings(settings: Settings, start: date | None, end: date | None) -> Settings:
    name = f"{start or 'start'}_{end or 'end'}"
    return Settings(
        data_dir=settings.root / "replays" / name,
        debug=settings.debug,
        segments_file=settings.segments_file,
        duckdb_threads=settings.duckdb_threads,
        duckdb_memory_limit=settings.duckdb_memory_limit,
    )


def restrict_raw(source: Settings, target: Settings, start: date | None, end: date | None) -> dict[str, int]:
    """Copy raw rows in the range from `source`'s warehouse into `target`'s; returns rows per table.

    One set-based `insert ... select` per table through an ATTACH (no rows pass through Python).
    """
    lo, hi = replay_bounds(start, end)
    copied: dict[str, int] = {}
    con = connect(target)
    try:
        con.execute(f"attach '{source.warehouse_path}' as src (read_only)")
        tables = [
            t
            for (t,) in fetch_all(
                con,
                "select table_name from information_schema.tables where table_catalog = 'src' "
                "and table_schema = 'raw' and table_type = 'BASE TABLE' order by 1",
            )
            if t not in NOT_COPIED
        ]
        con.execute("begin")
        for table in tables:
            column = EVENT_TIME_COLUMNS.get(table)
            where, params = [], []
            if column and lo is not None:
                where.append(f'"{column}" >= ?')
                params.append(lo.date() if column == "date" else lo)
            if column and hi is not None:
                where.append(f'"{column}" < ?')
                params.append(hi.date() if column == "date" else hi)
            clause = f" where {' and '.join(where)}" if where else ""
            con.execute(f'delete from raw."{table}"')
            con.execute(f'insert into raw."{table}" by name select * from src.raw."{table}"{clause}', params)
            copied[table] = fetch_all(con, f'select count(*) from raw."{table}"')[0][0]
        con.execute("commit")
        con.execute("detach src")
    finally:
        con.close()
    return copied


def prepare_replay(settings: Settings, start: date | None, end: date | None) -> Settings:
    """A fresh replay data dir whose warehouse holds the raw rows in range; returns its settings."""
    target = replay_settings(settings, start, end)
    if target.root.exists():
        shutil.rmtree(target.root)
    target.root.mkdir(parents=True)
    restrict_raw(settings, target, start, end)
    return target
