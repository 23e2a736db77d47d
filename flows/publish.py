"""Publishing for BI (SPEC section 9): marts copied to a new file, then renamed over the old one.

Why: DuckDB allows one writer and a writer cannot open a file a reader holds, so BI tools never
read `warehouse.duckdb`. After a run whose gates passed, every table of schema `marts` (plus the
`seeds.products` catalog) is copied into `published/.marts-<run>.duckdb.tmp`, checkpointed, closed,
checked, fsynced and `os.replace`d over `published/marts.duckdb`. A reader that already has the
old file open keeps its inode and its consistent snapshot; a new reader sees the new file
complete; a crash before the rename leaves the last good file untouched (stale temp files are
swept on the next publish).

Tables land in the published file's default schema `main`, so a BI tool queries `dim_persons`
(or `marts.dim_persons`: the file's catalog is named `marts`). A `publish_info` table records the
run id, time and per-table row counts, so readers can check what they see is one whole snapshot.

CREATE TABLE AS copies no comments, so the dbt descriptions (persist_docs put them on the
warehouse tables) are copied over with COMMENT ON TABLE/COLUMN. The column types are checked
against the BI-friendly set (no HUGEINT, unsigned, MAP, UNION, ...) before anything is renamed in.

The same tables go to `published/parquet/<table>.parquet` in the same step. A directory cannot be
replaced atomically by rename, so each publish writes `published/.parquet-versions/<run>/` and
then swaps the symlink `published/parquet` to it with one rename (the previous version is kept
until the next publish, for readers still listing it). Both are complete and verified before
either is renamed in; `publish_info.parquet` carries the same run id as the DuckDB file.
"""

from __future__ import annotations

import os
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from prefect import flow, task

from flows.errors import GateFailed, LifecycleError
from flows.settings import Settings
from flows.transform.run_guard import warehouse_guard
from flows.warehouse import fetch_all, open_for_read, quote_ident

PUBLISHED_SCHEMAS = ("marts",)
# The oldest storage format DuckDB 2.0 writes that DuckDB 1.1 still reads (storage version 64, the
# format of v0.10 to v1.1). BI drivers bundle their own, often older, DuckDB (JDBC, ODBC, node,
# Evidence); files in 2.0's own format (version 69) fail there with "Trying to read a database file
# with version number 69". See https://duckdb.org/docs/stable/internals/storage and DECISIONS
# "Published file storage version".
STORAGE_VERSION = "v1.1.0"
EXTRA_TABLES = (("seeds", "products"),)
PARQUET_LINK = "parquet"
PARQUET_VERSIONS = ".parquet-versions"
# Published column types BI drivers (JDBC, ODBC, node, older Python) all map: issue 17 item 2.
# Money is DECIMAL(18,2) (any DECIMAL up to 18 digits is stored in 64 bits and allowed); anything
# else (HUGEINT, wider DECIMAL, unsigned, MAP, UNION, LIST, STRUCT, TIMESTAMPTZ, ...) is refused.
BI_TYPES = frozenset({"VARCHAR", "BIGINT", "INTEGER", "SMALLINT", "DOUBLE", "BOOLEAN", "DATE", "TIMESTAMP"})
BI_DECIMAL = r"^DECIMAL\(([1-9]|1[0-8]),[0-9]+\)$"
PUBLISH_INFO_COMMENT = {
    None: "What this file holds: one row per published table, with the run that published it.",
    "run_id": "Pipeline run that published this file (the same in published/parquet/publish_info.parquet).",
    "published_at": "When the file was published (UTC).",
    "source_table": "Warehouse schema.table the table was copied from.",
    "table_name": "Table name in this file (and published/parquet/<table_name>.parquet).",
    "row_count": "Rows in the table as published.",
}


def _sweep_stale(published_dir: Path) -> None:
    """Remove what a crashed publish left behind: temp files, temp Parquet dirs, and Parquet
    versions the `parquet` link does not point to (never the published file or current version)."""
    for p in published_dir.glob(".marts-*.duckdb.tmp*"):
        p.unlink(missing_ok=True)
    versions = published_dir / PARQUET_VERSIONS
    if versions.is_dir():
        current = _current_parquet_version(published_dir)
        for d in versions.iterdir():
            if d.name != current:
                shutil.rmtree(d, ignore_errors=True)
    for p in published_dir.glob(f".{PARQUET_LINK}-*.tmp"):
        p.unlink(missing_ok=True)


def _current_parquet_version(published_dir: Path) -> str | None:
    link = published_dir / PARQUET_LINK
    return Path(os.readlink(link)).name if link.is_symlink() else None


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _copy_comments(con: duckdb.DuckDBPyConnection, wh: str, objects: list[tuple[str, str]]) -> None:
    """COMMENT ON the published tables and columns what persist_docs put on the warehouse's."""
    for schema, table in objects:
        rows = fetch_all(
            con,
            "select comment from duckdb_tables() where database_name = ? and schema_name = ? "
            "and table_name = ? "
            "union all select comment from duckdb_views() where database_name = ? and schema_name = ? "
            "and view_name = ?",
            [wh, schema, table] * 2,
        )
        comment = next((c for (c,) in rows if c), None)
        if comment:
            con.execute(f"comment on table pub.main.{quote_ident(table)} is {_sql_text(comment)}")
        for column, col_comment in fetch_all(
            con,
            "select column_name, comment from duckdb_columns() where database_name = ? and schema_name = ? "
            "and table_name = ? and comment is not null and comment <> ''",
            [wh, schema, table],
        ):
            con.execute(
                f"comment on column pub.main.{quote_ident(table)}.{quote_ident(column)} "
                f"is {_sql_text(col_comment)}"
            )
    for column, comment in PUBLISH_INFO_COMMENT.items():
        target = "table pub.main.publish_info" if column is None else f"column pub.main.publish_info.{column}"
        con.execute(f"comment on {target} is {_sql_text(comment)}")


def _check_bi_types(con: duckdb.DuckDBPyConnection) -> None:
    """Refuse to publish a column type BI drivers handle badly (HUGEINT, UBIGINT, MAP, UNION, ...)."""
    bad = fetch_all(
        con,
        "select table_name, column_name, data_type from duckdb_columns() where database_name = 'pub' "
        "and not (data_type in (select unnest(?)) or regexp_matches(data_type, ?)) order by 1, 2",
        [sorted(BI_TYPES), BI_DECIMAL],
    )
    if bad:
        shown = ", ".join(f"{t}.{c} {ty}" for t, c, ty in bad[:5])
        raise LifecycleError(
            f"not publishing: {len(bad)} column(s) of a type BI drivers cannot read ({shown})",
            hint="cast them in the mart's final CTE and set data_type in its yml (README BI section)",
        )


def _write_parquet(con: duckdb.DuckDBPyConnection, tables: list[str], target: Path) -> None:
    """Every published table (and publish_info) as `<table>.parquet` in `target`, fsynced."""
    target.mkdir(parents=True)
    for table in [*tables, "publish_info"]:
        path = target / f"{table}.parquet"
        source = f"pub.main.{quote_ident(table)}"
        con.execute(f"copy (select * from {source}) to {_sql_text(str(path))} (format parquet)")
        _fsync_file(path)
    _fsync_dir(target)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _swap_parquet(published_dir: Path, version_dir: Path, run_id: str) -> None:
    """Point `published/parquet` at `version_dir` with one atomic rename of a new symlink."""
    link = published_dir / PARQUET_LINK
    if link.exists() and not link.is_symlink():  # a plain directory from an older layout
        shutil.rmtree(link)
    tmp_link = published_dir / f".{PARQUET_LINK}-{run_id}.tmp"
    tmp_link.unlink(missing_ok=True)
    tmp_link.symlink_to(Path(PARQUET_VERSIONS) / version_dir.name, target_is_directory=True)
    os.replace(tmp_link, link)
    _fsync_dir(published_dir)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish_marts(settings: Settings, run_id: str | None = None) -> Path:
    """Copy the marts into a new file and atomically replace `published/marts.duckdb`; returns its path.

    Must run only after the mart gate passed; raises LifecycleError (leaving the published file
    untouched) when there is nothing to publish or the copy does not verify.
    """
    run_id = run_id or uuid.uuid4().hex[:12]
    if not settings.warehouse_path.exists():
        raise LifecycleError(
            f"nothing to publish: {settings.warehouse_path} does not exist", hint="run `lifecycle run` first"
        )
    published_dir = settings.published_dir
    published_dir.mkdir(parents=True, exist_ok=True)
    _sweep_stale(published_dir)
    tmp = published_dir / f".marts-{run_id}.duckdb.tmp"
    versions = published_dir / PARQUET_VERSIONS
    versions.mkdir(exist_ok=True)
    version_dir = versions / f"{run_id}-{uuid.uuid4().hex[:8]}"  # unique: a run may publish twice
    renamed = False
    published_at = datetime.now(UTC).replace(tzinfo=None)
    try:
        con = open_for_read(settings.warehouse_path)
        try:
            wh = fetch_all(con, "select current_database()")[0][0]
            con.execute(f"attach '{tmp}' as pub (read_write, storage_version '{STORAGE_VERSION}')")
            objects = fetch_all(
                con,
                "select table_schema, table_name from information_schema.tables "
                "where table_catalog = ? and table_schema in (select unnest(?)) order by 1, 2",
                [wh, list(PUBLISHED_SCHEMAS)],
            )
            present = {
                (s, t)
                for s, t in fetch_all(
                    con,
                    "select table_schema, table_name from information_schema.tables where table_catalog = ?",
                    [wh],
                )
            }
            objects += [st for st in EXTRA_TABLES if st in present]
            if not any(s in PUBLISHED_SCHEMAS for s, _ in objects):
                raise LifecycleError(
                    "nothing to publish: the warehouse has no marts", hint="run `lifecycle build` first"
                )
            counts: list[tuple[str, str, int]] = []
            con.execute("begin")
            for schema, table in objects:
                con.execute(
                    f"create table pub.main.{quote_ident(table)} as "
                    f"select * from {quote_ident(wh)}.{quote_ident(schema)}.{quote_ident(table)}"
                )
                n = fetch_all(con, f"select count(*) from pub.main.{quote_ident(table)}")[0][0]
                counts.append((f"{schema}.{table}", table, n))
            con.execute(
                "create table pub.main.publish_info (run_id varchar, published_at timestamp, "
                "source_table varchar, table_name varchar, row_count bigint)"
            )
            con.executemany(
                "insert into pub.main.publish_info values (?, ?, ?, ?, ?)",
                [(run_id, published_at, src, t, n) for src, t, n in counts],
            )
            _copy_comments(con, wh, objects)
            con.execute("commit")
            _check_bi_types(con)
            _write_parquet(con, [t for _, t, _ in counts], version_dir)
            con.execute("checkpoint pub")
            con.execute("detach pub")
        finally:
            con.close()
        if Path(f"{tmp}.wal").exists():
            raise LifecycleError(f"publish left a write-ahead log next to {tmp}; not publishing")
        _verify(tmp, run_id)
        _verify_parquet(version_dir, run_id)
        _fsync_file(tmp)
        os.replace(tmp, settings.published_path)
        _fsync_dir(published_dir)
        renamed = True
        _swap_parquet(published_dir, version_dir, run_id)
    finally:
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.wal").unlink(missing_ok=True)
        if not renamed:
            shutil.rmtree(version_dir, ignore_errors=True)
    # Older versions than the previous one go; the previous stays for readers still listing it.
    for old in sorted(versions.iterdir(), key=lambda d: d.stat().st_mtime)[:-2]:
        if old.name != version_dir.name:
            shutil.rmtree(old, ignore_errors=True)
    return settings.published_path


def _verify(path: Path, run_id: str) -> None:
    """Re-open the new file read-only and check every table has the row count publish_info promises."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = fetch_all(con, "select table_name, row_count from publish_info where run_id = ?", [run_id])
        for table, expected in rows:
            got = fetch_all(con, f"select count(*) from main.{quote_ident(table)}")[0][0]
            if got != expected:
                raise LifecycleError(f"published copy of {table} has {got} rows, expected {expected}")
    finally:
        con.close()


def _verify_parquet(version_dir: Path, run_id: str) -> None:
    """Read every Parquet file back and check its row count against publish_info.parquet."""
    con = duckdb.connect()
    try:
        info = _sql_text(str(version_dir / "publish_info.parquet"))
        rows = fetch_all(con, f"select table_name, row_count, run_id from read_parquet({info})")
        for table, expected, run in rows:
            path = _sql_text(str(version_dir / f"{table}.parquet"))
            got = fetch_all(con, f"select count(*) from read_parquet({path})")[0][0]
            if got != expected or run != run_id:
                raise LifecycleError(f"published Parquet copy of {table} has {got} rows, expected {expected}")
    finally:
        con.close()


def published_info(path: Path) -> list[tuple[str, int]]:
    """(table, row_count) of a published file, for summaries and BI checks."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return [
            (t, n) for t, n in fetch_all(con, "select table_name, row_count from publish_info order by 1")
        ]
    finally:
        con.close()


@task(name="publish-marts", retries=2, retry_delay_seconds=2)
def publish_task(settings: Settings, run_id: str | None = None) -> Path:
    """Publish as a Prefect task: retried, since it is file I/O."""
    return publish_marts(settings, run_id)


@flow(name="publish")
def _publish(settings: Settings) -> Path:
    from flows.quality.gates import run_mart_gate

    gate = run_mart_gate(settings)
    if not gate.passed:
        raise GateFailed(f"mart gate failed, not publishing: {gate.summary_line()}")
    return publish_task(settings)


def publish_flow(settings: Settings) -> Path:
    """`lifecycle publish`: run the mart gate, then publish (refuses to publish marts that fail it)."""
    with warehouse_guard(settings):
        return _publish(settings)
