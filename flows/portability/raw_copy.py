"""Copy the raw layer of a DuckDB warehouse into PostgreSQL, set-based.

DuckDB's `postgres` extension would be the one-liner, but it is downloaded on first use and this
project must work offline, so the copy goes through files both engines read natively: DuckDB
writes each raw table with `COPY ... TO csv` and PostgreSQL reads it with `COPY ... FROM STDIN`.
No row passes through Python.

All tables are replaced in ONE PostgreSQL transaction: a crash mid-copy rolls back and leaves the
previous copy intact, and re-running gives the same result (idempotent). An existing table whose
columns still match is truncated (TRUNCATE is transactional in PostgreSQL) so dbt's staging views
that select from it survive; a table whose shape changed is dropped and re-created.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from flows.errors import LifecycleError
from flows.warehouse import fetch_all, quote_ident

RAW_SCHEMA = "raw"


@dataclass(frozen=True)
class PostgresConnection:
    """Where the PostgreSQL copy lives; read from the standard libpq variables (PGHOST, ...)."""

    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "lifecycle"
    password: str = "lifecycle"
    dbname: str = "lifecycle"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PostgresConnection:
        env = os.environ if env is None else env
        return cls(
            host=env.get("PGHOST", cls.host),
            port=int(env.get("PGPORT", cls.port)),
            user=env.get("PGUSER", cls.user),
            password=env.get("PGPASSWORD", cls.password),
            dbname=env.get("PGDATABASE", cls.dbname),
        )

    def as_env(self) -> dict[str, str]:
        """The variables dbt's `postgres` profile output reads."""
        return {
            "PGHOST": self.host,
            "PGPORT": str(self.port),
            "PGUSER": self.user,
            "PGPASSWORD": self.password,
            "PGDATABASE": self.dbname,
        }

    def connect(self) -> Any:
        import psycopg2

        try:
            return psycopg2.connect(
                host=self.host,
                port=self.port,
                user=self.user,
                password=self.password,
                dbname=self.dbname,
                connect_timeout=10,
            )
        except psycopg2.OperationalError as exc:
            first = (str(exc).strip().splitlines() or [""])[0]
            raise LifecycleError(
                f"cannot connect to PostgreSQL at {self.host}:{self.port}/{self.dbname}: {first}",
                hint="start one with `scripts/postgres.sh start DIR` and export the PG* lines it prints",
            ) from exc


@dataclass(frozen=True)
class Column:
    name: str
    duckdb_type: str
    nullable: bool

    @property
    def postgres_type(self) -> str:
        return postgres_type(self.duckdb_type)

    def export_expr(self) -> str:
        """DuckDB expression that writes this column as text PostgreSQL's COPY accepts.

        PostgreSQL text cannot hold NUL and jsonb rejects the `\\u0000` escape, both of which are
        legal in DuckDB; they are removed (the only lossy step, and only for that character).
        Nested DuckDB types (lists, structs, maps) travel as JSON.
        """
        ident = quote_ident(self.name)
        base = self.duckdb_type.upper()
        if base == "JSON":
            return f"replace(cast({ident} as varchar), '\\u0000', '')"
        if base == "VARCHAR":
            return f"replace({ident}, chr(0), '')"
        if _is_nested(base):
            return f"cast(to_json({ident}) as varchar)"
        return ident


@dataclass
class CopySummary:
    """Rows copied per raw table (`schema.table` -> rows)."""

    tables: dict[str, int] = field(default_factory=dict)
    engine: str = "PostgreSQL"

    @property
    def rows(self) -> int:
        return sum(self.tables.values())

    def __str__(self) -> str:
        parts = ", ".join(f"{name} {rows}" for name, rows in sorted(self.tables.items()))
        return f"copied {len(self.tables)} raw tables to {self.engine} ({self.rows} rows): {parts}"


_SIMPLE_TYPES = {
    "VARCHAR": "text",
    "JSON": "jsonb",
    "BOOLEAN": "boolean",
    "TINYINT": "smallint",
    "SMALLINT": "smallint",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "HUGEINT": "numeric(39, 0)",
    "UTINYINT": "smallint",
    "USMALLINT": "integer",
    "UINTEGER": "bigint",
    "UBIGINT": "numeric(20, 0)",
    "FLOAT": "real",
    "DOUBLE": "double precision",
    "DATE": "date",
    "TIME": "time",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP_NS": "timestamp",
    "TIMESTAMP_MS": "timestamp",
    "TIMESTAMP_S": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "INTERVAL": "interval",
    "UUID": "uuid",
    "BLOB": "bytea",
}


def _is_nested(duckdb_type: str) -> bool:
    t = duckdb_type.upper()
    return (
        t.endswith("[]") or t.startswith(("STRUCT", "MAP", "UNION")) or re.search(r"\[\d+\]$", t) is not None
    )


def postgres_type(duckdb_type: str) -> str:
    """PostgreSQL column type for a DuckDB one (as `information_schema.columns.data_type` spells it)."""
    t = duckdb_type.upper().strip()
    if t in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[t]
    decimal = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", t)
    if decimal:
        return f"numeric({decimal.group(1)}, {decimal.group(2)})"
    if _is_nested(t):
        return "jsonb"
    # Anything exotic (ENUM, BIT, ...) is kept as its text form rather than refused.
    return "text"


def raw_columns(con: duckdb.DuckDBPyConnection, schema: str = RAW_SCHEMA) -> dict[str, list[Column]]:
    """Every base table of `schema` with its columns, in table then ordinal order."""
    rows = fetch_all(
        con,
        """
        select c.table_name, c.column_name, c.data_type, c.is_nullable = 'YES'
        from information_schema.columns as c
        inner join information_schema.tables as t
            on t.table_schema = c.table_schema and t.table_name = c.table_name
        where c.table_schema = ? and t.table_type = 'BASE TABLE'
        order by c.table_name, c.ordinal_position
        """,
        [schema],
    )
    tables: dict[str, list[Column]] = {}
    for table, column, data_type, nullable in rows:
        tables.setdefault(table, []).append(Column(column, data_type, bool(nullable)))
    return tables


def open_for_reading(warehouse_path: Path) -> duckdb.DuckDBPyConnection:
    """Read-only when possible; if this process already has the file open read-write (dbt-duckdb
    keeps its connection for the life of the process), DuckDB refuses a second configuration, and
    sharing the existing database instance is the only way in."""
    try:
        return duckdb.connect(str(warehouse_path), read_only=True)
    except duckdb.ConnectionException as exc:
        if "different configuration" not in str(exc):
            raise
        return duckdb.connect(str(warehouse_path))


def _create_table_sql(schema: str, table: str, columns: list[Column]) -> str:
    cols = ",\n    ".join(
        f"{quote_ident(c.name)} {c.postgres_type}{'' if c.nullable else ' not null'}" for c in columns
    )
    return f"create table {quote_ident(schema)}.{quote_ident(table)} (\n    {cols}\n)"


def _postgres_shape(cur: Any, schema: str, table: str) -> list[tuple[str, str]]:
    cur.execute(
        """
        select a.attname, format_type(a.atttypid, a.atttypmod)
        from pg_attribute as a
        inner join pg_class as c on c.oid = a.attrelid
        inner join pg_namespace as n on n.oid = c.relnamespace
        where n.nspname = %s and c.relname = %s and c.relkind = 'r' and a.attnum > 0 and not a.attisdropped
        order by a.attnum
        """,
        (schema, table),
    )
    return [(name, type_) for name, type_ in cur.fetchall()]


def _normalise_pg_type(type_: str) -> str:
    """format_type spellings of the types `postgres_type` emits, for a shape comparison."""
    aliases = {
        "timestamp without time zone": "timestamp",
        "timestamp with time zone": "timestamptz",
        "time without time zone": "time",
    }
    type_ = type_.replace(", ", ",")
    return aliases.get(type_, type_)


@contextlib.contextmanager
def _export_dir(work_dir: Path | None) -> Iterator[Path]:
    if work_dir is not None:
        work_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="raw-copy-", dir=work_dir) as tmp:
        yield Path(tmp)


def copy_raw_to_postgres(
    warehouse_path: Path,
    pg: PostgresConnection,
    *,
    schema: str = RAW_SCHEMA,
    work_dir: Path | None = None,
) -> CopySummary:
    """Replace PostgreSQL's `schema.*` with the DuckDB warehouse's raw tables, atomically.

    The warehouse is opened read-only, so this must not run while the pipeline writes it (the
    pipeline's run lock is the caller's business; DuckDB itself refuses a second opener).
    """
    if not warehouse_path.exists():
        raise LifecycleError(
            f"no warehouse at {warehouse_path}", hint="run `lifecycle ingest` for this --data-dir first"
        )
    summary = CopySummary()
    with _export_dir(work_dir) as tmp:
        con = open_for_reading(warehouse_path)
        try:
            tables = raw_columns(con, schema)
            if not tables:
                raise LifecycleError(f"the warehouse has no {schema}.* tables", hint="run `lifecycle ingest`")
            files: dict[str, Path] = {}
            for table, columns in tables.items():
                path = tmp / f"{table}.csv"
                select = ", ".join(c.export_expr() for c in columns)
                con.execute(
                    f"copy (select {select} from {quote_ident(schema)}.{quote_ident(table)}) "
                    f"to '{path.as_posix()}' (format csv, header false)"
                )
                files[table] = path
        finally:
            con.close()

        pg_con = pg.connect()
        try:
            with pg_con:  # one transaction: commit on success, rollback on any error
                cur = pg_con.cursor()
                cur.execute(f"create schema if not exists {quote_ident(schema)}")
                for table, columns in tables.items():
                    wanted = [(c.name, _normalise_pg_type(c.postgres_type)) for c in columns]
                    existing = [(n, _normalise_pg_type(t)) for n, t in _postgres_shape(cur, schema, table)]
                    qualified = f"{quote_ident(schema)}.{quote_ident(table)}"
                    if existing == wanted:
                        cur.execute(f"truncate table {qualified}")
                    else:
                        cur.execute(f"drop table if exists {qualified} cascade")
                        cur.execute(_create_table_sql(schema, table, columns))
                    with files[table].open("rb") as fh:
                        cur.copy_expert(f"copy {qualified} from stdin with (format csv)", fh)
                    summary.tables[f"{schema}.{table}"] = cur.rowcount
                    cur.execute(f"analyze {qualified}")
        finally:
            pg_con.close()
    return summary
