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
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from prefect import flow, task

from flows.errors import GateFailed, LifecycleError
from flows.settings import Settings
from flows.transform.run_guard import warehouse_guard
from flows.warehouse import fetch_all

PUBLISHED_SCHEMAS = ("marts",)
# The oldest storage format DuckDB 2.0 writes that DuckDB 1.1 still reads (storage version 64, the
# format of v0.10 to v1.1). BI drivers bundle their own, often older, DuckDB (JDBC, ODBC, node,
# Evidence); files in 2.0's own format (version 69) fail there with "Trying to read a database file
# with version number 69". See https://duckdb.org/docs/stable/internals/storage and DECISIONS
# "Published file storage version".
STORAGE_VERSION = "v1.1.0"
EXTRA_TABLES = (("seeds", "products"),)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sweep_stale(published_dir: Path) -> None:
    """Remove temp files a crashed publish left behind (never the published file itself)."""
    for p in published_dir.glob(".marts-*.duckdb.tmp*"):
        p.unlink(missing_ok=True)


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
                    f"create table pub.main.{_quote(table)} as "
                    f"select * from {_quote(wh)}.{_quote(schema)}.{_quote(table)}"
                )
                n = fetch_all(con, f"select count(*) from pub.main.{_quote(table)}")[0][0]
                counts.append((f"{schema}.{table}", table, n))
            con.execute(
                "create table pub.main.publish_info (run_id varchar, published_at timestamp, "
                "source_table varchar, table_name varchar, row_count bigint)"
            )
            con.executemany(
                "insert into pub.main.publish_info values (?, ?, ?, ?, ?)",
                [(run_id, published_at, src, t, n) for src, t, n in counts],
            )
            con.execute("commit")
            con.execute("checkpoint pub")
            con.execute("detach pub")
        finally:
            con.close()
        if Path(f"{tmp}.wal").exists():
            raise LifecycleError(f"publish left a write-ahead log next to {tmp}; not publishing")
        _verify(tmp, run_id)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, settings.published_path)
        _fsync_dir(published_dir)
    finally:
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.wal").unlink(missing_ok=True)
    return settings.published_path


def open_for_read(path: Path) -> duckdb.DuckDBPyConnection:
    """A connection for reading `path`, also when this process already has it open read-write.

    DuckDB keeps one database instance per file per process and refuses a read-only connection
    next to a read-write one ("different configuration"); then share the open instance instead.
    Callers only read, and hold the run lock when that instance may be written.
    """
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.ConnectionException:
        return duckdb.connect(str(path))


def _verify(path: Path, run_id: str) -> None:
    """Re-open the new file read-only and check every table has the row count publish_info promises."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = fetch_all(con, "select table_name, row_count from publish_info where run_id = ?", [run_id])
        for table, expected in rows:
            got = fetch_all(con, f"select count(*) from main.{_quote(table)}")[0][0]
            if got != expected:
                raise LifecycleError(f"published copy of {table} has {got} rows, expected {expected}")
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
