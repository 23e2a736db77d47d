"""Access to `warehouse.duckdb`, the pipeline's working database (only the pipeline writes it).

DuckDB 2.0 notes that shape this module: a relation has no `fetchone()`; `execute(...).fetchone()`
leaves a result open that blocks the next query; `.arrow()` streams and blocks the connection.
Helpers here always fully materialise results.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

from flows.errors import WarehouseBusy
from flows.settings import Settings

RAW_SCHEMA_SQL = Path(__file__).resolve().parent / "sources" / "schema.sql"


@functools.cache
def _raw_schema_columns() -> frozenset[tuple[str, str]]:
    """Every (relation, column) schema.sql declares in `raw`, read once per process from an
    in-memory database the DDL is applied to (so added columns count, not only tables)."""
    con = duckdb.connect(":memory:")
    try:
        con.execute(RAW_SCHEMA_SQL.read_text())
        return frozenset(fetch_all(con, _RAW_COLUMNS_SQL))
    finally:
        con.close()


_RAW_COLUMNS_SQL = (
    "select table_name, column_name from information_schema.columns "
    "where table_catalog = current_database() and table_schema = 'raw'"
)


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> bool:
    """Apply schema.sql when the warehouse lacks any relation or column it declares: on the first
    write to a new file, and after an upgrade adds a table or column. Otherwise only the catalog
    is read, so ordinary write connections run no DDL. Returns whether the DDL ran."""
    if _raw_schema_columns() <= set(fetch_all(con, _RAW_COLUMNS_SQL)):
        return False
    con.execute(RAW_SCHEMA_SQL.read_text())
    return True


def connect(settings: Settings, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse; a write connection creates or upgrades the raw schema when it is missing
    or outdated (ensure_raw_schema)."""
    settings.root.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {}
    if settings.duckdb_threads:
        config["threads"] = settings.duckdb_threads
    if settings.duckdb_memory_limit:
        config["memory_limit"] = settings.duckdb_memory_limit
    try:
        con = duckdb.connect(str(settings.warehouse_path), read_only=read_only, config=config)
    except duckdb.ConnectionException as exc:
        # The file is already open in this process with other settings (dbt-duckdb keeps its
        # handle between pipeline steps): join that instance as it is configured.
        if "different configuration" not in str(exc) or not config:
            raise
        con = duckdb.connect(str(settings.warehouse_path), read_only=read_only)
    # DuckDB draws its own progress bar on stderr for long queries (an erasure, a large ingest),
    # over the product's own progress lines: the product says what it does itself.
    con.execute("set enable_progress_bar = false")
    if not read_only:
        ensure_raw_schema(con)
    return con


@contextlib.contextmanager
def open_warehouse(settings: Settings, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(settings, read_only=read_only)
    try:
        yield con
    finally:
        con.close()


def fetch_all(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[tuple]:
    """Run a query and return every row (never leaves a result open)."""
    return con.execute(sql, params or []).fetchall()


def quote_ident(name: str) -> str:
    """A SQL identifier, double-quoted with embedded quotes doubled (DuckDB and PostgreSQL alike)."""
    return '"' + name.replace('"', '""') + '"'


def relation_exists(con: duckdb.DuckDBPyConnection, relation: str) -> bool:
    """Whether the table or view `schema.name` exists (information_schema), so optional inputs such
    as sync state or the erasure ledger can be read only once a run has created them."""
    schema, _, name = relation.partition(".")
    rows = fetch_all(
        con,
        # current_database(): the catalog an unqualified `schema.name` resolves in (an attached
        # file's tables of the same name do not count).
        "select 1 from information_schema.tables "
        "where table_catalog = current_database() and table_schema = ? and table_name = ?",
        [schema, name],
    )
    return bool(rows)


@contextlib.contextmanager
def run_lock(settings: Settings, wait: bool = False) -> Iterator[None]:
    """Process-level guard so two runs never write the warehouse at once.

    An advisory `flock` on DIR/.run.lock: released by the kernel when the process dies, so a
    killed run never leaves a stale lock behind.
    """
    settings.root.mkdir(parents=True, exist_ok=True)
    path = settings.root / ".run.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        flags = fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB
        try:
            fcntl.flock(fd, flags)
        except BlockingIOError as exc:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            raise WarehouseBusy(
                f"another lifecycle run (pid {holder}) is writing {settings.warehouse_path}",
                hint="wait for it to finish, or run with a different --data-dir",
            ) from exc
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)


def open_for_read(path: Path) -> duckdb.DuckDBPyConnection:
    """A connection for reading `path`, also when this process already has it open read-write.

    DuckDB keeps one database instance per file per process and refuses a read-only connection
    next to a read-write one ("different configuration"); then share the open instance instead.
    Callers only read, and hold the run lock when that instance may be written. Lives here, not in
    flows.publish, so readers such as the report need not import Prefect.
    """
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.ConnectionException:
        return duckdb.connect(str(path))
