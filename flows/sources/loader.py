"""Load staged files (or one API page) into their raw tables in ONE transaction with their manifest rows.

A *batch* is one or more files of one source staged together in `_records` (column `file_no` says
which file a record came from). Many small daily files cost one read, one de-duplication and one
commit instead of one of each per file: per-file transactions made ingest 20x slower than a bare
DuckDB read of the same files. Two phases per batch:

1. `parse` (outside any transaction, temp tables only): validate and extract every record into
   `_parsed_<n>` per target table, in one set-based pass over the staged records. A read error
   here (bad bytes, broken gzip) is caught by the caller, which loads the batch's files one by one
   (and a damaged file the slow way); doing this inside a transaction would abort it.
2. `commit_batch` (one transaction): quarantine rejects, de-duplicate within the batch (first
   occurrence in file order, then line order, wins) and against history (semi-join of the batch's
   keys, so history is a streaming scan of the key column, never a hash table of all of it),
   append, write one manifest row per file. Counts are checked per file before COMMIT: for any
   file, lines in != loaded + duplicates + rejects never commits.

Line numbers: a multi-file JSONL batch numbers its lines in read order across the batch (DuckDB's
CSV reader keeps file and line order, and `parse` numbers rows by their position, see
records.py); `parse` takes each file's first line as its offset (and checks that every file's
lines are contiguous), and rows get `line_no - offset` as they are written, so the batch is never
copied to renumber it. Batch-wide numbers also order the records by (file, line), which is what
de-duplication needs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

import duckdb

from flows.sources import records
from flows.sources.session import StagingSession
from flows.sources.specs import SourceSpec, Target
from flows.sources.summary import FileResult

_S = StagingSession

# Orders records across a batch: file_no * _ORD_STEP + line_no (line numbers stay below 1e12).
_ORD_STEP = 1_000_000_000_000


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
class FileCounts:
    rows_in: int = 0
    last_line: int = 0
    rejects: int = 0  # found by validation (pre-rejects are counted in commit)
    line_offset: int = 0  # batch-wide line_no - line_offset = the line in this file


@dataclass
class Parsed:
    """Counts of the parse phase, per file of the batch (keyed by file_no)."""

    files: dict[int, FileCounts] = field(default_factory=dict)
    good: dict[tuple[int, int], int] = field(default_factory=dict)  # (target, file_no) -> valid records
    has_pre_rejects: bool = False
    # False when a multi-file batch's line numbering is not contiguous per file (the reader did not
    # keep file and line order): nothing may commit; the caller loads its files one by one.
    in_order: bool = True

    @property
    def rows_in(self) -> int:
        return sum(f.rows_in for f in self.files.values())

    @property
    def last_line(self) -> int:
        return max((f.last_line for f in self.files.values()), default=0)


def _null_safe(key: tuple[str, ...], left: str, right: str) -> str:
    return " and ".join(f"{left}.{k} is not distinct from {right}.{k}" for k in key)


def _staged_table(spec: SourceSpec) -> str:
    return spec.targets[0].staged_table


_ORDER_SAFE_OPERATORS = {"PROJECTION", "FILTER", "READ_CSV"}
_order_safe_cache: dict[str, bool] = {}


def order_safe(session: StagingSession, sql: str) -> bool:
    """Whether DuckDB's plan for `sql` only projects and filters the reader's rows: then CREATE TABLE
    AS keeps read order and row ids are line numbers. Any join, aggregate or sort would not."""
    if sql not in _order_safe_cache:
        plan = json.loads(session.fetchall(f"explain (format json) {sql}")[0][1])
        names: set[str] = set()
        stack = list(plan)
        while stack:
            node = stack.pop()
            names.add(node["name"])
            stack.extend(node.get("children", []))
        _order_safe_cache[sql] = names <= _ORDER_SAFE_OPERATORS
    return _order_safe_cache[sql]


def parse(
    target: StagingSession | duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    first_line: int,
    *,
    n_files: int = 1,
    batch_numbered: bool = False,
    positional: bool = False,
) -> Parsed:
    """Validate/extract the staged records into `_parsed_<n>`.

    `first_line` applies to single-file batches (an appended tail). `batch_numbered` says that
    `line_no` counts across the batch and must be made per file. `positional` says `_records` is a
    positional view over a strict read (records.py): this parse is then the one read of the files
    and numbers the lines itself. A single file's non-positional stage may hold pre-rejected lines
    (bad bytes, a broken document); a batch's never does, because a batch is one strict read that
    either succeeds or raises. A batch whose line numbers are not contiguous per file comes back
    with `in_order` False.
    """
    session = StagingSession.of(target)
    if batch_numbered and len(spec.targets) != 1:
        raise ValueError("batch-wide line numbers need a single target")
    if positional and (
        len(spec.targets) != 1
        or spec.targets[0].entity is not None
        or not order_safe(session, spec.targets[0].select_sql)
    ):
        records.number_lines(session)
        positional = False
    parsed = Parsed(files={i: FileCounts(last_line=first_line - 1) for i in range(n_files)})
    line_filter = f"where line_no >= {int(first_line)}" if n_files == 1 else ""
    for n, tgt in enumerate(spec.targets):
        parsed_name, rows_name = _S.parsed(n), _S.parsed_rows(n)
        session.drop(parsed_name, rows_name)
        if positional:
            # The one read of the files: every staged line yields one row, in read order.
            session.execute(
                f"create temp table {rows_name} as select * exclude (line_no) from ({tgt.select_sql})"
            )
            session.execute(
                f"create temp view {parsed_name} as select * from (select rowid + 1 as line_no, *, "
                f"file_no::bigint * {_ORD_STEP} + rowid + 1 as _ord from {rows_name}) {line_filter}"
            )
        else:
            session.execute(
                f"create temp table {parsed_name} as "
                f"select *, file_no::bigint * {_ORD_STEP} + line_no as _ord from ({tgt.select_sql}) "
                f"{line_filter}"
            )
    for n in range(len(spec.targets)):
        stats = session.fetchall(
            f"select file_no, count(*), min(line_no), max(line_no), count(reason) from {_S.parsed(n)} "
            "group by file_no"
        )
        for file_no, count, low, top, rejects in stats:
            counts = parsed.files[file_no]
            if batch_numbered:
                # Lines numbered across the batch: this file's first line is its offset + 1. The
                # reader keeps file and line order, so each file's numbers must be contiguous.
                if top - low + 1 != count:
                    parsed.in_order = False
                    return parsed
                counts.line_offset = low - 1
            counts.rows_in += count
            counts.last_line = max(counts.last_line, (top or 0) - counts.line_offset)
            counts.rejects += rejects
            parsed.good[(n, file_no)] = count - rejects
    if n_files == 1 and not positional:
        staged = _staged_table(spec)
        count, top = session.fetchall(
            f"select count(*), max(line_no) from {staged} where pre_reason is not null and line_no >= ?",
            [first_line],
        )[0]
        only = parsed.files[0]
        only.rows_in += count
        only.last_line = max(only.last_line, top or 0)
        parsed.has_pre_rejects = count > 0
        staged_total = session.fetchall(f"select count(*) from {staged} where line_no >= ?", [first_line])[0][
            0
        ]
        if staged_total != parsed.rows_in:  # a record no target reads would vanish silently
            raise AssertionError(f"{staged_total} staged records but {parsed.rows_in} validated")
    return parsed


def _load_target(
    session: StagingSession, spec: SourceSpec, n: int, target: Target, loaded_at: datetime
) -> tuple[int, dict[int, int]]:
    """Quarantine, de-duplicate and append one target table; returns (rows loaded, duplicates per file)."""
    con = session.con
    parsed = _S.parsed(n)
    raw_text = "p.line" if target.json_column is None else "coalesce(p.line, p.j::varchar)"
    con.execute(
        f"insert into raw.rejects select ?, f.rel, p.line_no - f.line_offset, p.reason, {raw_text}, ? "
        f"from {parsed} as p join {_S.BATCH_FILES} as f using (file_no) where p.reason is not null",
        [spec.name, loaded_at],
    )
    keys = ", ".join(target.key)
    # Duplicates inside the batch: usually few, so find the repeated keys with an aggregate instead
    # of numbering every row with a window; the first occurrence (lowest file, then line) wins.
    con.execute(
        f"""
        create or replace temp table {_S.DUPKEYS} as
        select {keys}, min(_ord) as first_ord from {parsed} where reason is null
        group by all having count(*) > 1
        """
    )
    con.execute(
        f"""
        create or replace temp table {_S.SEEN} as
        select distinct {", ".join(f"h.{k}" for k in target.key)}
        from {target.table} as h
        semi join (select {keys} from {parsed} where reason is null) as b
            on {_null_safe(target.key, "h", "b")}
        """
    )
    # Every record that must not be appended: repeats within the batch, and keys already in history.
    con.execute(
        f"""
        create or replace temp table {_S.DUPS} as
        select b._ord from {parsed} as b join {_S.DUPKEYS} as d on {_null_safe(target.key, "d", "b")}
        where b.reason is null and b._ord > d.first_ord
        union
        select b._ord from {parsed} as b semi join {_S.SEEN} as s on {_null_safe(target.key, "s", "b")}
        where b.reason is null
        """
    )
    select_cols = ", ".join("p.j" if c == target.json_column else f"p.{c}" for c in target.columns)
    cols = ", ".join(target.columns)
    loaded = con.execute(
        f"""
        insert into {target.table} ({cols}, _file, _line, _loaded_at)
        select {select_cols}, f.rel, p.line_no - f.line_offset, ?
        from {parsed} as p
        join {_S.BATCH_FILES} as f using (file_no)
        anti join {_S.DUPS} as d on d._ord = p._ord
        where p.reason is null
        """,
        [loaded_at],
    ).fetchall()[0][0]
    dups = con.execute(f"select _ord // {_ORD_STEP}, count(*) from {_S.DUPS} group by 1").fetchall()
    return loaded, {int(file_no): count for file_no, count in dups}


def _manifest_rows(
    spec: SourceSpec,
    plans: list[Planned],
    loaded_at: datetime,
    results: list[FileResult],
    parsed: Parsed | None,
) -> list[list]:
    rows = []
    for i, (plan, result) in enumerate(zip(plans, results, strict=True)):
        last_line = parsed.files[i].last_line if parsed is not None else None
        rows.append(
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
            ]
        )
    return rows


def _insert_manifest(con: duckdb.DuckDBPyConnection, rows: list[list]) -> None:
    con.executemany(
        "insert into raw.load_manifest (source, path, size_bytes, content_hash, loaded_at, rows_in, "
        "rows_loaded, duplicates, rejects, mtime_ns, first_line, last_line, status) "
        "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def commit_batch(
    target: StagingSession | duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    plans: list[Planned],
    parsed: Parsed,
    loaded_at: datetime,
    extra_sql: list[tuple[str, list]] | None = None,
) -> list[FileResult]:
    """Everything parsed for `plans` (file_no = position in the list) goes in, atomically, with
    one manifest row per file. The batch's temp relations are dropped after the commit."""
    if not parsed.in_order:
        raise ValueError("a batch whose line numbers are out of order must not commit")
    session = StagingSession.of(target)
    con = session.con
    results = [
        FileResult(path=p.rel, status=p.status, rows_in=parsed.files[i].rows_in) for i, p in enumerate(plans)
    ]
    for i, result in enumerate(results):
        result.rejects = parsed.files[i].rejects
    con.execute(
        f"create or replace temp table {_S.BATCH_FILES} (file_no integer, rel varchar, line_offset bigint)"
    )
    con.executemany(
        f"insert into {_S.BATCH_FILES} values (?, ?, ?)",
        [[i, p.rel, parsed.files[i].line_offset] for i, p in enumerate(plans)],
    )
    con.execute("begin transaction")
    try:
        if parsed.has_pre_rejects:  # only single-file batches are staged eagerly
            results[0].rejects += con.execute(
                "insert into raw.rejects select ?, ?, line_no, pre_reason, line, ? "
                f"from {_staged_table(spec)} where pre_reason is not null and line_no >= ?",
                [spec.name, plans[0].rel, loaded_at, plans[0].first_line],
            ).fetchall()[0][0]
        for n, tgt in enumerate(spec.targets):
            loaded, dups = _load_target(session, spec, n, tgt, loaded_at)
            counted = 0
            for i, result in enumerate(results):
                appended = parsed.good.get((n, i), 0) - dups.get(i, 0)
                result.duplicates += dups.get(i, 0)
                result.rows_loaded += appended
                counted += appended
            if counted != loaded:
                raise AssertionError(f"{spec.name}: {loaded} rows appended but {counted} counted per file")
        for result in results:
            result.check()
        _insert_manifest(con, _manifest_rows(spec, plans, loaded_at, results, parsed))
        for sql, params in extra_sql or []:
            con.execute(sql, params)  # e.g. the API cursor, committed with its page
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    # Free this batch's staged and parsed copies before the next batch is staged.
    session.drop_batch()
    return results


def commit_load(
    target: StagingSession | duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    plan: Planned,
    parsed: Parsed,
    loaded_at: datetime,
    extra_sql: list[tuple[str, list]] | None = None,
) -> FileResult:
    """One file (or API page) in its own transaction."""
    return commit_batch(target, spec, [plan], parsed, loaded_at, extra_sql)[0]


def commit_changed(
    session: StagingSession, spec: SourceSpec, plan: Planned, loaded_at: datetime, reason: str
) -> FileResult:
    """A file whose already-loaded content changed: quarantine the new version as one reject and
    remember it, so it is reported once and never doubles rows."""
    result = FileResult(path=plan.rel, rows_in=1, rejects=1, status="changed")
    con = session.con
    con.execute("begin transaction")
    try:
        con.execute(
            "insert into raw.rejects values (?, ?, null, ?, null, ?)",
            [spec.name, plan.rel, reason, loaded_at],
        )
        _insert_manifest(con, _manifest_rows(spec, [plan], loaded_at, [result], None))
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return result
