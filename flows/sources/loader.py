"""Load one staged file (or API page) into its raw tables in ONE transaction with its manifest row.

Two phases per file:
1. `parse` (outside any transaction, temp tables only): validate and extract every record into
   `_parsed_<n>` per target table, in one set-based pass over the staged records. A read error
   here (bad bytes, broken gzip) is caught by the caller, which re-stages the file the slow way;
   doing this inside a transaction would abort it.
2. `commit_load` (one transaction): quarantine rejects, de-duplicate within the batch (first
   occurrence wins) and against history (semi-join of the batch's keys, so history is a streaming
   scan of the key column, never a hash table of all of it), append, write the manifest row.
   Counts are checked before COMMIT: lines in != loaded + duplicates + rejects never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from flows.sources.specs import SourceSpec, Target
from flows.sources.summary import FileResult


@dataclass
class Planned:
    """A file the planner decided to load, and how."""

    rel: str  # path relative to DIR/raw (or 'api:<endpoint>')
    size: int  # bytes covered by this load (complete lines only)
    mtime_ns: int
    content_hash: str
    first_line: int = 1  # >1 when only the appended tail is new
    status: str = "new"


@dataclass
class Parsed:
    """Counts of the parse phase, needed for the manifest."""

    rows_in: int
    last_line: int
    has_pre_rejects: bool


def _null_safe(key: tuple[str, ...], left: str, right: str) -> str:
    return " and ".join(f"{left}.{k} is not distinct from {right}.{k}" for k in key)


def _staged_table(spec: SourceSpec) -> str:
    return "_csv" if spec.csv_columns else "_records"


def parse(con: duckdb.DuckDBPyConnection, spec: SourceSpec, first_line: int, lazy: bool) -> Parsed:
    """Validate/extract into `_parsed_<n>`. With a lazy (view) stage this is the one file read."""
    rows_in, last_line = 0, first_line - 1
    for n, target in enumerate(spec.targets):
        con.execute(
            f"create or replace temp table _parsed_{n} as select * from ({target.select_sql}) "
            f"where line_no >= {int(first_line)}"
        )
        count, top = con.execute(f"select count(*), max(line_no) from _parsed_{n}").fetchall()[0]
        rows_in += count
        last_line = max(last_line, top or 0)
    has_pre = False
    if not lazy:  # a view over a strictly read file cannot hold pre-rejected lines
        staged = _staged_table(spec)
        count, top = con.execute(
            f"select count(*), max(line_no) from {staged} where pre_reason is not null and line_no >= ?",
            [first_line],
        ).fetchall()[0]
        rows_in += count
        last_line = max(last_line, top or 0)
        has_pre = count > 0
        staged_total = con.execute(
            f"select count(*) from {staged} where line_no >= ?", [first_line]
        ).fetchall()[0][0]
        if staged_total != rows_in:  # a record no target reads would vanish silently
            raise AssertionError(f"{staged_total} staged records but {rows_in} validated")
    return Parsed(rows_in, last_line, has_pre)


def _load_target(
    con: duckdb.DuckDBPyConnection, spec: SourceSpec, n: int, target: Target, rel: str, loaded_at: datetime
) -> tuple[int, int, int]:
    """Returns (loaded, duplicates, rejects) for one target table."""
    parsed = f"_parsed_{n}"
    has_json = any(c in ("message", "record") for c in target.columns)
    raw_text = "coalesce(line, j::varchar)" if has_json else "line"
    rejects = con.execute(
        f"insert into raw.rejects select ?, ?, line_no, reason, {raw_text}, ? from {parsed} "
        "where reason is not null",
        [spec.name, rel, loaded_at],
    ).fetchall()[0][0]
    keys = ", ".join(target.key)
    good = con.execute(f"select count(*) from {parsed} where reason is null").fetchall()[0][0]
    # Duplicates inside the batch: usually none, so find the repeated keys with an aggregate
    # instead of numbering every row with a window; the first occurrence (lowest line) wins.
    con.execute(
        f"""
        create or replace temp table _dupkeys as
        select {keys}, min(line_no) as first_line from {parsed} where reason is null
        group by all having count(*) > 1
        """
    )
    con.execute(
        f"""
        create or replace temp table _seen as
        select distinct {", ".join(f"h.{k}" for k in target.key)}
        from {target.table} as h
        semi join (select {keys} from {parsed} where reason is null) as b
            on {_null_safe(target.key, "h", "b")}
        """
    )
    select_cols = ", ".join("j" if c in ("message", "record") else c for c in target.columns)
    cols = ", ".join(target.columns)
    loaded = con.execute(
        f"""
        insert into {target.table} ({cols}, _file, _line, _loaded_at)
        select {select_cols}, ?, line_no, ?
        from {parsed} as b
        anti join _seen as s on {_null_safe(target.key, "s", "b")}
        where reason is null
            and not exists (
                select 1 from _dupkeys as d
                where {_null_safe(target.key, "d", "b")} and b.line_no > d.first_line
            )
        """,
        [rel, loaded_at],
    ).fetchall()[0][0]
    return loaded, good - loaded, rejects


def _manifest_row(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    plan: Planned,
    loaded_at: datetime,
    result: FileResult,
    last_line: int | None,
) -> None:
    con.execute(
        "insert into raw.load_manifest (source, path, size_bytes, content_hash, loaded_at, rows_in, "
        "rows_loaded, duplicates, rejects, mtime_ns, first_line, last_line, status) "
        "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            spec.name,
            plan.rel,
            plan.size,
            plan.content_hash,
            loaded_at,
            result.rows_in,
            result.rows_loaded,
            result.duplicates,
            result.rejects,
            plan.mtime_ns,
            plan.first_line if last_line is not None else None,
            last_line,
            plan.status,
        ],
    )


def commit_load(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    plan: Planned,
    parsed: Parsed,
    loaded_at: datetime,
    extra_sql: list[tuple[str, list]] | None = None,
) -> FileResult:
    """Everything parsed for `plan` goes in, atomically, with its manifest row."""
    result = FileResult(path=plan.rel, status=plan.status, rows_in=parsed.rows_in)
    con.execute("begin transaction")
    try:
        if parsed.has_pre_rejects:
            result.rejects += con.execute(
                "insert into raw.rejects select ?, ?, line_no, pre_reason, line, ? "
                f"from {_staged_table(spec)} where pre_reason is not null and line_no >= ?",
                [spec.name, plan.rel, loaded_at, plan.first_line],
            ).fetchall()[0][0]
        for n, target in enumerate(spec.targets):
            loaded, dups, rejects = _load_target(con, spec, n, target, plan.rel, loaded_at)
            result.rows_loaded += loaded
            result.duplicates += dups
            result.rejects += rejects
        result.check()
        _manifest_row(con, spec, plan, loaded_at, result, parsed.last_line)
        for sql, params in extra_sql or []:
            con.execute(sql, params)  # e.g. the API cursor, committed with its page
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return result


def commit_changed(
    con: duckdb.DuckDBPyConnection, spec: SourceSpec, plan: Planned, loaded_at: datetime, reason: str
) -> FileResult:
    """A file whose already-loaded content changed: quarantine the new version as one reject and
    remember it, so it is reported once and never doubles rows."""
    result = FileResult(path=plan.rel, rows_in=1, rejects=1, status="changed")
    con.execute("begin transaction")
    try:
        con.execute(
            "insert into raw.rejects values (?, ?, null, ?, null, ?)",
            [spec.name, plan.rel, reason, loaded_at],
        )
        _manifest_row(con, spec, plan, loaded_at, result, None)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return result


def drop_temp(con: duckdb.DuckDBPyConnection, spec: SourceSpec) -> None:
    for n in range(len(spec.targets)):
        con.execute(f"drop table if exists _parsed_{n}")
