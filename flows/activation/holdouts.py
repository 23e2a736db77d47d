"""Holdout groups (SPEC section 11): who of a segment's audience is held out, and the record of it.

A segment with `holdout: SHARE` keeps a random-looking but deterministic share of its audience out
of every destination, so `mart_segment_lift` can compare the treated with persons who were never
sent anything. The group is a pure function of (salt, segment, person_id):

    bucket = first 32 bits of md5(salt || ':' || segment || ':' || person_id) / 2**32
    group  = 'holdout' if bucket < share else 'treated'

so it is the same in every run, after a full refresh of dbt, and when a person leaves the segment
and comes back. The Python (`holdout_bucket`, used by the demo generator) and SQL (`group_sql`,
used by sync) versions are the same function; a test checks they agree.

Assignments are recorded in `sync.holdout_assignments` (a schema dbt never rebuilds) the first time
a sync puts a person in the segment's audience (treated) or holds them out; that first entry is the
person's entry into the segment for the lift measurement, and it is never overwritten. A recorded
group wins over the computed one, so changing the share or the salt later does not move anyone
already assigned. `assigned_at` is the sync's data time (the warehouse `as_of`, the same clock as
the orders the lift is measured on), `recorded_at` the wall clock.

`import_history` adopts an assignment log of earlier syncs (`DIR/raw/sync_history/*.csv`: the
demo generator's simulated year of daily syncs, or a restored install's history). A row is adopted
only when the person has no assignment yet and its group is exactly what the function gives;
anything else is counted and left out, never trusted.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from flows.activation.config import ActivationConfig, SegmentConfig
from flows.activation.state import SCHEMA, now, query_frame, registered
from flows.warehouse import relation_exists

TABLE = f"{SCHEMA}.holdout_assignments"
TREATED = "treated"
HOLDOUT = "holdout"
# Same columns as the dbt macro `ensure_holdout_assignments` (dbt creates the table when a build runs
# before the first sync, so the lift mart always has its source); `create ... if not exists` here.
DDL = f"""
create schema if not exists {SCHEMA};
create table if not exists {TABLE} (
    segment        varchar not null,
    person_id      varchar not null,
    assigned_group varchar not null,   -- treated | holdout
    assigned_at    timestamp not null, -- entry into the segment (data time of the first sync)
    run_id         varchar not null,
    recorded_at    timestamp not null
);
"""
HISTORY_DIR = "sync_history"
HISTORY_COLUMNS = ("segment", "person_id", "assigned_group", "assigned_at")


def holdout_bucket(person_id: str, segment: str, salt: str) -> float:
    """The person's position in [0, 1) for a segment: md5 of salt, segment and person_id."""
    digest = hashlib.md5(f"{salt}:{segment}:{person_id}".encode()).hexdigest()
    return int(digest[:8], 16) / 2**32


def assign_group(person_id: str, segment: str, salt: str, share: float) -> str:
    """'holdout' for the first `share` of buckets, else 'treated'."""
    return HOLDOUT if holdout_bucket(person_id, segment, salt) < share else TREATED


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def bucket_sql(person_col: str, segment: str, salt: str) -> str:
    """SQL (DuckDB) of `holdout_bucket` over a person_id column."""
    key = f"{_lit(salt + ':' + segment + ':')} || cast({person_col} as varchar)"
    return f"(cast(('0x' || left(md5({key}), 8)) as ubigint) / 4294967296.0)"


def group_sql(person_col: str, segment: str, salt: str, share: float) -> str:
    return (
        f"case when {bucket_sql(person_col, segment, salt)} < {float(share)!r} "
        f"then '{HOLDOUT}' else '{TREATED}' end"
    )


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)


@dataclass
class Split:
    """One segment's audience after its holdout: who is sent, who is held out (person ids)."""

    treated: pl.DataFrame
    held_out: pl.DataFrame  # person_id, assigned_group
    groups: pl.DataFrame = field(repr=False)  # every audience person: person_id, assigned_group, is_new


def split_audience(
    con: duckdb.DuckDBPyConnection, seg: SegmentConfig, audience: pl.DataFrame, salt: str
) -> Split:
    """Leave the held-out persons out of `audience` (read-only; set-based in DuckDB).

    A person's recorded group wins over the computed one; persons never seen get the computed group.
    """
    ids = audience.select(pl.col("person_id").cast(pl.Utf8)).unique()
    share = seg.holdout or 0.0
    recorded = (
        f"select person_id, assigned_group from {TABLE} where segment = {_lit(seg.name)}"
        if relation_exists(con, TABLE)
        else "select null::varchar as person_id, null::varchar as assigned_group where false"
    )
    computed = group_sql("a.person_id", seg.name, salt, share)
    with registered(con, "__lifecycle_audience_ids", ids):
        groups = query_frame(
            con,
            f"""
            with recorded as ({recorded})
            select
                a.person_id,
                coalesce(r.assigned_group, {computed}) as assigned_group,
                r.person_id is null as is_new
            from __lifecycle_audience_ids as a
            left join recorded as r using (person_id)
            """,
        )
    held = groups.filter(pl.col("assigned_group") == HOLDOUT).select("person_id", "assigned_group")
    treated = audience.join(
        held.select(pl.col("person_id")),
        left_on=pl.col("person_id").cast(pl.Utf8),
        right_on="person_id",
        how="anti",
    )
    return Split(treated=treated, held_out=held, groups=groups)


def _assigned_at(as_of: str | None) -> datetime:
    if as_of:
        try:
            return datetime.fromisoformat(as_of).replace(tzinfo=None)
        except ValueError:
            pass
    return now()


def record_assignments(
    con: duckdb.DuckDBPyConnection, segment: str, split: Split, *, as_of: str | None, run_id: str
) -> int:
    """Insert the first assignment of every audience person not yet recorded; returns how many."""
    new = split.groups.filter(pl.col("is_new")).select("person_id", "assigned_group")
    if new.is_empty():
        return 0
    ensure_schema(con)
    with registered(con, "__lifecycle_new_assignments", new):
        con.execute(
            f"""
            insert into {TABLE}
            select ?, n.person_id, n.assigned_group, ?, ?, ?
            from __lifecycle_new_assignments as n
            where not exists (
                select 1 from {TABLE} as t where t.segment = ? and t.person_id = n.person_id
            )
            """,
            [segment, _assigned_at(as_of), run_id, now(), segment],
        )
    return new.height


def import_history(
    con: duckdb.DuckDBPyConnection, raw_dir: Path, config: ActivationConfig, salt: str, run_id: str
) -> dict[str, int]:
    """Adopt `raw_dir/sync_history/*.csv` assignment logs (see module docstring); idempotent.

    Returns {"adopted": n, "mismatched": n, "unknown_segment": n}. The first entry per (segment,
    person) in the log wins, as in live syncs.
    """
    files = sorted((raw_dir / HISTORY_DIR).glob("*.csv")) if (raw_dir / HISTORY_DIR).is_dir() else []
    counts = {"adopted": 0, "mismatched": 0, "unknown_segment": 0}
    if not files:
        return counts
    shares = {s.name: s.holdout for s in config.segments if s.holdout}
    ensure_schema(con)
    if not shares:
        return counts
    cases = " ".join(
        f"when {_lit(name)} then {group_sql('person_id', name, salt, share)}"
        for name, share in shares.items()
    )
    paths = "[" + ", ".join(_lit(str(f)) for f in files) + "]"
    log = f"""
        select segment, person_id, assigned_group, min(assigned_at) as assigned_at
        from read_csv({paths}, header = true, columns = {{
            'segment': 'varchar', 'person_id': 'varchar',
            'assigned_group': 'varchar', 'assigned_at': 'timestamp'}})
        group by all
    """
    checked = f"""
        select *, case segment {cases} end as expected_group
        from ({log})
    """
    rows = query_frame(
        con,
        f"""
        select
            count(*) filter (where expected_group is null) as unknown_segment,
            count(*) filter (where expected_group is not null and expected_group <> assigned_group)
                as mismatched
        from ({checked})
        """,
    )
    counts["unknown_segment"] = int(rows["unknown_segment"][0])
    counts["mismatched"] = int(rows["mismatched"][0])
    before = con.execute(f"select count(*) from {TABLE}").fetchall()[0][0]
    con.execute(
        f"""
        insert into {TABLE}
        select segment, person_id, assigned_group, assigned_at, ?, ?
        from ({checked}) as h
        where expected_group = assigned_group
          and not exists (
            select 1 from {TABLE} as t where t.segment = h.segment and t.person_id = h.person_id
          )
        qualify row_number() over (partition by segment, person_id order by assigned_at) = 1
        """,
        [run_id, now()],
    )
    counts["adopted"] = con.execute(f"select count(*) from {TABLE}").fetchall()[0][0] - before
    return counts


def apply_holdouts(
    con: duckdb.DuckDBPyConnection,
    config: ActivationConfig,
    audiences: dict[str, pl.DataFrame],
    *,
    salt: str,
    record: bool,
    as_of: str | None,
    run_id: str,
) -> tuple[dict[str, pl.DataFrame], dict[str, pl.DataFrame]]:
    """Every holdout segment's audience without its held-out persons, and those persons by segment.

    `record=False` (dry run) computes the same split and writes nothing.
    """
    sent: dict[str, pl.DataFrame] = {}
    held: dict[str, pl.DataFrame] = {}
    for name, audience in audiences.items():
        seg = config.segment(name)
        if not seg.holdout:
            sent[name] = audience
            continue
        split = split_audience(con, seg, audience, salt)
        if record:
            record_assignments(con, name, split, as_of=as_of, run_id=run_id)
        sent[name], held[name] = split.treated, split.held_out
    return sent, held


def assignment_counts(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Recorded persons per segment and group (for tests and the CLI)."""
    if not relation_exists(con, TABLE):
        return []
    frame = query_frame(
        con,
        f"select segment, assigned_group, count(*) as persons from {TABLE} group by all order by all",
    )
    return frame.to_dicts()
