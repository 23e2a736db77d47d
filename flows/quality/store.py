"""Gate history in the warehouse, schema `quality` (dbt never touches it).

`validation_runs` has one row per gate run with counts, `check_results` one row per check, and
`table_counts` the row count of every mart per run, so the next run can compare with the last *passing*
one (a failed run must not become the baseline, or a collapse would look normal the second time).
`raw_watermarks` says up to which `_loaded_at` each raw table's rows were judged row by row by a raw
gate that passed: the next gate hands GX only the rows after it (what the day loaded), and a failed
gate moves nothing, so its rows are judged again until they pass or are quarantined.
"""

from __future__ import annotations

import os
import re
import shutil
from datetime import datetime
from pathlib import Path
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
create table if not exists quality.raw_watermarks (
    table_name          varchar not null,
    validated_through   timestamp not null,
    run_id              varchar not null,
    recorded_at         timestamp not null
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


def rows_validated_through(con: duckdb.DuckDBPyConnection) -> dict[str, datetime]:
    """Per raw table, the newest `_loaded_at` a passing raw gate judged row by row (absent: none yet)."""
    rows = fetch_all(
        con, "select table_name, max(validated_through) from quality.raw_watermarks group by table_name"
    )
    return {name: through for name, through in rows}


def record_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    result: GateResult,
    started_at: datetime,
    finished_at: datetime,
    table_counts: dict[str, int] | None = None,
    watermarks: dict[str, datetime] | None = None,
) -> None:
    """Write the run, its checks, its counts and (a passed raw gate) its watermarks in one transaction."""
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
        if watermarks and result.passed:
            con.executemany(
                "insert into quality.raw_watermarks values (?, ?, ?, ?)",
                [(name, through, run_id, finished_at) for name, through in watermarks.items()],
            )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


# --- GX Data Docs offline (issue 17 item 5) -------------------------------------------------------
# GX's page templates (great_expectations/render/view/templates/*.j2) load jQuery, Bootstrap,
# bootstrap-table and the datepicker from CDNs; offline the index then shows an empty validation
# list. The same files, vendored unmodified from npm (data_docs_assets/README.md), are copied next
# to the docs and every page's links are rewritten to them. Optional extras are dropped.
ASSETS_DIR = Path(__file__).with_name("data_docs_assets")
_BT = "https://unpkg.com/bootstrap-table@"
_CDN_ASSETS = {
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper.min.js",
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table.min.js",
    _BT + "1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css": (
        "bootstrap-table-filter-control.min.css"
    ),
    _BT + "1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css": (
        "bootstrap-table-filter-control.min.css"
    ),
    _BT + "1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js": (
        "bootstrap-table-filter-control.min.js"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css": (
        "bootstrap-datepicker.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js": (
        "bootstrap-datepicker.min.js"
    ),
}
_REMOTE_TAG = re.compile(r"<(?:script|link)\b[^>]*?(?:src|href)=\"(https?://[^\"]+)\"[^>]*>(?:\s*</script>)?")

_REMOTE_IMG = re.compile(r"<img\b[^>]*?src=\"https?://[^\"]+\"[^>]*>")


def make_data_docs_offline(docs_dir: Path) -> int:
    """Copy the vendored assets into `docs_dir/static/offline/` and point every page at them.

    Returns the number of pages rewritten. Idempotent: pages already rewritten have no CDN links.
    """
    target = docs_dir / "static" / "offline"
    target.mkdir(parents=True, exist_ok=True)
    for name in sorted(set(_CDN_ASSETS.values())):
        shutil.copyfile(ASSETS_DIR / name, target / name)
    rewritten = 0
    for page in docs_dir.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        prefix = "../" * (len(page.relative_to(docs_dir).parts) - 1) + "static/offline/"

        def local(match: re.Match[str], prefix: str = prefix) -> str:
            name = _CDN_ASSETS.get(match.group(1))
            if name is None:  # vega charts, icons, dark theme: optional, and never fetched
                return ""
            if match.group(0).startswith("<script"):
                return f'<script src="{prefix}{name}"></script>'
            return f'<link rel="stylesheet" href="{prefix}{name}">'

        new = _REMOTE_IMG.sub("", _REMOTE_TAG.sub(local, text))  # the GX logo is fetched with tracking ids
        if new != text:
            tmp = page.with_name(f".{page.name}.tmp")
            tmp.write_text(new, encoding="utf-8")
            os.replace(tmp, page)
            rewritten += 1
    return rewritten
