"""Gate history in the warehouse, schema `quality` (dbt never touches it).

`validation_runs` has one row per gate run with counts, `check_results` one row per check, and
`table_counts` the row count of every mart per run, so the next run can compare with the last *passing*
one (a failed run must not become the baseline, or a collapse would look normal the second time).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb

from flows.quality.results import GateResult
from flows.warehouse import fetch_all

SCHEMA_SQL = """
create schema if not exists quality;
create table if not exists quality.validation_runs (
    run_id          varchar not null,
    stage           varchar not null,
    started_at      timestamp not null,
    finished_at     timestamp not null,
    passed          boolean not null,
    suites          integer not null,
    checks          integer not null,
    failures        integer not null,
    warnings        integer not null,
    summary         varchar not null,
    data_docs_path  varchar
);
create table if not exists quality.check_results (
    run_id      varchar not null,
    stage       varchar not null,
    suite       varchar not null,
    check_name  varchar not null,
    severity    varchar not null,
    success     boolean not null,
    observed    varchar,
    min_value   double,
    max_value   double,
    message     varchar
);
create table if not exists quality.table_counts (
    run_id      varchar not null,
    table_name  varchar not null,
    row_count   bigint not null,
    counted_at  timestamp not null
);
"""


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SCHEMA_SQL)


def previous_passing_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Row counts recorded by the latest mart gate run that passed."""
    rows = fetch_all(
        con,
        """
        with last_pass as (
            select run_id from quality.validation_runs
            where stage = 'mart' and passed
            order by finished_at desc
            limit 1
        )
        select table_name, row_count
        from quality.table_counts
        join last_pass using (run_id)
        """,
    )
    return {name: int(count) for name, count in rows}


def record_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    result: GateResult,
    started_at: datetime,
    finished_at: datetime,
    table_counts: dict[str, int] | None = None,
) -> None:
    """Write the run, its checks and its counts in one transaction: all of it or none."""
    checks: list[tuple[Any, ...]] = [
        (
            run_id,
            f.stage,
            f.suite,
            f.check,
            f.severity,
            f.success,
            None if f.observed is None else str(f.observed),
            f.min_value,
            f.max_value,
            f.message,
        )
        for s in result.suite_results
        for f in s.findings
    ]
    con.execute("begin transaction")
    try:
        con.execute(
            "insert into quality.validation_runs values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                result.stage,
                started_at,
                finished_at,
                result.passed,
                len(result.suite_results),
                result.checks,
                len(result.failures),
                len(result.warnings),
                result.summary_line(),
                str(result.data_docs_path) if result.data_docs_path else None,
            ],
        )
        if checks:
            con.executemany("insert into quality.check_results values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", checks)
        if table_counts:
            con.executemany(
                "insert into quality.table_counts values (?, ?, ?, ?)",
                [(run_id, name, count, finished_at) for name, count in table_counts.items()],
            )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
