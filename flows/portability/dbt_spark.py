"""Run the unchanged dbt project on Spark: a local SparkSession, the raw layer as Parquet, dbt-spark.

dbt-spark connects in `session` mode: dbt runs in the Python process that holds the SparkSession
(`method: session` in dbt_project/profiles.yml), so there is no Thrift server to start, wait for,
give a port and stop. The session is created here, before dbt, with everything the build needs:

- `local[N]` with few shuffle partitions and no UI: the data of a test is small, and Spark's
  default of 200 partitions per shuffle would dominate the time;
- UTC session time zone and `TIMESTAMP_NTZ` as the `timestamp` type: DuckDB's timestamps are
  naive UTC, and the Parquet copy of them is read back as NTZ, so no value moves with a zone;
- `escapedStringLiterals`: a backslash in a SQL string stays a backslash (as in DuckDB and
  PostgreSQL), so the regular expressions of the models reach Java's engine unchanged;
- an in-memory catalog and a warehouse dir under the caller's work dir: no metastore_db, derby.log
  or spark-warehouse ever lands in the working directory.

dbt-spark's own `getOrCreate()` then returns this session. The raw tables are copied as Parquet
files (DuckDB writes them, Spark reads them natively; no row passes through Python) and registered
as `raw.<table>`. Python models and their descendants are excluded, as on PostgreSQL
(flows/portability/dbt_postgres.py says why), and so are snapshots (dbt-spark snapshots need Delta
or Hudi) and unit tests (their fixtures are DuckDB/PostgreSQL SQL); every data test runs.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flows.errors import LifecycleError
from flows.portability.dbt_postgres import EngineBuild, downstream_models, python_models
from flows.portability.raw_copy import RAW_SCHEMA, CopySummary, open_for_reading, raw_columns
from flows.settings import Settings
from flows.transform.dbt import run_dbt
from flows.warehouse import quote_ident

TARGET = "spark"
# Besides raw.*, the sync state dbt reads (created empty by a build before the first sync).
EXTRA_TABLES = (("sync", "holdout_assignments"),)


@dataclass
class SparkBuild(EngineBuild):
    """What `dbt build --target spark` did, and how long it took."""

    # dbt-spark snapshots need Delta or Hudi (merge); the Parquet build leaves them out.
    excluded_snapshots: list[str] = field(default_factory=list)
    # Data tests that ran and passed (or warned), by name.
    tests_passed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def __str__(self) -> str:
        return (
            f"dbt build on Spark in {self.seconds:.1f} s: {self.counts()}; "
            f"Python models excluded (with their descendants): {self.excluded()}"
        )


def snapshots(manifest: dict[str, Any]) -> list[str]:
    """Names of the project's snapshots (from a parsed manifest)."""
    return sorted(
        node["name"] for node in manifest.get("nodes", {}).values() if node.get("resource_type") == "snapshot"
    )


def spark_settings(settings: Settings) -> Settings:
    """Settings whose dbt target/log dirs are `DIR/spark/...` (apart from the DuckDB build's)."""
    return Settings(data_dir=settings.root / TARGET)


def spark_session(work_dir: Path, *, cores: int = 2, driver_memory: str = "1g") -> Any:
    """The process's SparkSession, created with the settings above (see the module docstring).

    Fails with a LifecycleError naming the cause when Java or pyspark is missing: the Spark tests
    must fail, not skip, on a machine that cannot run Spark.
    """
    if shutil.which("java") is None:
        raise LifecycleError(
            "no java on PATH: Spark needs a Java 17 runtime",
            hint="run `make test-deps` (installs Debian's openjdk-17-jre-headless)",
        )
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise LifecycleError(
            "pyspark is not installed", hint="run `make test` (it syncs the `spark` dependency group)"
        ) from exc
    work_dir.mkdir(parents=True, exist_ok=True)
    # The catalog lives in memory: tables of an earlier session are forgotten, their files are
    # orphans, and Spark refuses to create a table over them.
    shutil.rmtree(work_dir / "warehouse", ignore_errors=True)
    local_dir = work_dir / "spark-local"
    conf = {
        "spark.master": f"local[{cores}]",
        "spark.app.name": "lifecycle-dbt",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.memory": driver_memory,
        "spark.sql.shuffle.partitions": str(cores),
        "spark.default.parallelism": str(cores),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.timestampType": "TIMESTAMP_NTZ",
        "spark.sql.parser.escapedStringLiterals": "true",
        "spark.sql.ansi.enabled": "false",  # what dbt-spark sets too
        "spark.sql.catalogImplementation": "in-memory",
        "spark.sql.warehouse.dir": str(work_dir / "warehouse"),
        "spark.local.dir": str(local_dir),
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={work_dir / 'derby'} -Duser.timezone=UTC",
    }
    builder = SparkSession.builder
    for key, value in conf.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # the JVM did not start: say why in one line
        first = (str(exc).strip().splitlines() or [""])[0]
        raise LifecycleError(f"could not start a local Spark session: {first}") from exc
    session.sparkContext.setLogLevel("ERROR")
    return session


def _export_expr(name: str, duckdb_type: str) -> str:
    """DuckDB expression for one raw column in the Parquet file: JSON travels as its text."""
    ident = quote_ident(name)
    return f"cast({ident} as varchar) as {ident}" if duckdb_type.upper() == "JSON" else ident


def copy_raw_to_spark(warehouse_path: Path, spark: Any, parquet_dir: Path) -> CopySummary:
    """Write every raw table (and the sync state dbt reads) as Parquet and register it in Spark.

    Idempotent: the files are rewritten and the tables re-created on every call.
    """
    if not warehouse_path.exists():
        raise LifecycleError(
            f"no warehouse at {warehouse_path}", hint="run `lifecycle ingest` for this --data-dir first"
        )
    summary = CopySummary(engine="Spark")
    con = open_for_reading(warehouse_path)
    try:
        tables = {(RAW_SCHEMA, t): cols for t, cols in raw_columns(con, RAW_SCHEMA).items()}
        if not tables:
            raise LifecycleError(f"the warehouse has no {RAW_SCHEMA}.* tables", hint="run `lifecycle ingest`")
        for schema, table in EXTRA_TABLES:
            extra = raw_columns(con, schema).get(table)
            if extra:
                tables[(schema, table)] = extra
        files: dict[tuple[str, str], tuple[Path, int]] = {}
        for (schema, table), columns in tables.items():
            path = parquet_dir / schema / table
            shutil.rmtree(path, ignore_errors=True)
            path.mkdir(parents=True)
            select = ", ".join(_export_expr(c.name, c.duckdb_type) for c in columns)
            qualified = f"{quote_ident(schema)}.{quote_ident(table)}"
            con.execute(
                f"copy (select {select} from {qualified}) to '{(path / 'part-0.parquet').as_posix()}' "
                "(format parquet)"
            )
            rows = con.execute(f"select count(*) from {qualified}").fetchone()[0]
            files[(schema, table)] = (path, int(rows))
    finally:
        con.close()
    for (schema, table), (path, rows) in files.items():
        spark.sql(f"create schema if not exists {schema}")
        spark.sql(f"drop table if exists {schema}.{table}")
        spark.sql(f"create table {schema}.{table} using parquet location '{path.as_posix()}'")
        summary.tables[f"{schema}.{table}"] = rows
    return summary


def build_on_spark(
    settings: Settings,
    *,
    extra_args: list[str] | None = None,
    vars: dict[str, Any] | None = None,
) -> SparkBuild:
    """`dbt parse` then `dbt build --target spark` in this process's SparkSession (create it first
    with `spark_session`), excluding Python models and their children, snapshots and unit tests."""
    sp_settings = spark_settings(settings)
    summary = SparkBuild()
    run_dbt(sp_settings, ["parse", "--target", TARGET], vars=vars)
    manifest = json.loads((sp_settings.dbt_target_dir / "manifest.json").read_text())
    summary.excluded_python_models = python_models(manifest)
    summary.excluded_models = downstream_models(manifest, summary.excluded_python_models)
    command = [
        "build",
        "--target",
        TARGET,
        "--exclude-resource-type",
        "unit_test",
        *(extra_args or []),
    ]
    # A snapshot's `+` takes its data tests along (excluding the resource type would leave them).
    summary.excluded_snapshots = snapshots(manifest)
    excluded = [*summary.excluded_python_models, *summary.excluded_snapshots]
    if excluded:
        command += ["--exclude", *(f"{name}+" for name in excluded)]
    started = time.perf_counter()
    result = run_dbt(sp_settings, command, vars=vars)
    summary.seconds = time.perf_counter() - started
    for r in getattr(result.result, "results", None) or []:
        status = str(getattr(r.status, "value", r.status))
        summary.statuses[status] = summary.statuses.get(status, 0) + 1
        kind = getattr(r.node, "resource_type", None)
        if kind == "model":
            summary.built.append(r.node.name)
        elif kind == "test" and status in ("pass", "warn"):
            summary.tests_passed.append(r.node.name)
    summary.built.sort()
    return summary
