"""The two gates of a run: raw (after ingest) and mart (after dbt build).

A gate measures (DuckDB), judges (Great Expectations), records (schema `quality`, Data Docs) and returns
a GateResult. It never raises on bad data: the pipeline decides, raising GateFailed when `.passed` is
False so publish and sync never run and the last published marts and audience files stay. A suite whose
tables are missing or whose query breaks fails closed with an `error` finding naming the cause.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import yaml

from flows.errors import LifecycleError
from flows.quality import gx_validation, runtime_suites, store
from flows.quality.config import (
    QualityConfigError,
    SuiteSpec,
    load_suites,
    load_thresholds,
    render_message,
    render_sql,
)
from flows.quality.results import Finding, GateResult, SuiteResult
from flows.settings import DBT_PROJECT_DIR, EXPECTATIONS_DIR, Settings
from flows.warehouse import open_warehouse, relation_exists

log = logging.getLogger(__name__)

LATEST_LOAD_MACRO = """
create or replace temp macro latest_load(src) as table
    with manifest as (
        select * from raw.load_manifest where source = src
    ),
    newest as (
        select max(loaded_at) as newest_at from manifest
    ),
    latest as (
        select manifest.*
        from manifest, newest
        where manifest.loaded_at
            >= newest.newest_at - to_minutes(cast(${latest_load_window_minutes} as integer))
    )
    select
        count(*) as files,
        coalesce(sum(rows_in), 0) as rows_in,
        coalesce(sum(rejects), 0) as rejects,
        sum(rejects) / nullif(sum(rows_in), 0) as reject_rate,
        max(loaded_at) as loaded_at,
    from latest
"""


# Rows of a source loaded since the last passing raw gate judged them (quality.raw_watermarks): what
# the day loaded. Not the newest manifest batch by time window: two loads minutes apart (a re-run, a
# catch-up) are then one window, and a load that failed the gate must be judged again next time.
LOAD_ROWS_SQL = """
with rows as (
    select ${columns}
    from ${table}
    where _loaded_at > ${since}
)
select ${outer} from rows
"""

# Before any passing raw gate every row is new.
NEVER = datetime(1, 1, 1)


def _event_row_errors(
    p: dict[str, Any], required: dict[str, str], key: tuple[str, str, str]
) -> list[gx_validation.RowCheck]:
    """The blocking row rules every event source shares: required columns not null (column: what a
    failing row lacks), its key unique within the load, and `ts` inside the sane window."""
    name, column, what = key
    return [
        *(
            gx_validation.RowCheck(f"{col}_not_null", "not_null", col, "error", lacks)
            for col, lacks in required.items()
        ),
        gx_validation.RowCheck(name, "unique", column, "error", what),
        gx_validation.RowCheck(
            "ts_in_window",
            "between",
            "ts",
            "error",
            "timestamp outside the sane window",
            {"min_value": p["min_event_ts"], "max_value": p["future_cutoff"]},
        ),
    ]


# What GX judges in each load, row by row. Severities: `error` only where the history-wide suite
# (expectations/raw_*.yml) has an error check with max 0 on the same condition, so a load failure
# always coincides with a history failure and no gate outcome changes; share-bounded and
# informational rules report the failing values as warnings.
LOAD_SUITES: dict[str, dict[str, Any]] = {
    "web": {
        "table": "raw.segment_events",
        "columns": """message_id, type, ts,
            coalesce(nullif(trim(anonymous_id), ''), nullif(trim(user_id), '')) as identity,
            case when type = 'track' then coalesce(event, '') end as track_event,
            case when type = 'identify' then nullif(trim(coalesce(
                json_extract_string(message, '$$.traits.email'),
                json_extract_string(message, '$$.context.traits.email')
            )), '') end as raw_identify_email""",
        "outer": """* exclude (raw_identify_email),
            case when lower(raw_identify_email) not in ${blocked_identity_values}
                then raw_identify_email end as identify_email""",
        "checks": lambda p: [
            *_event_row_errors(
                p,
                required={"message_id": "no messageId", "type": "no type", "ts": "no timestamp"},
                key=("message_id_unique", "message_id", "repeated messageId"),
            ),
            gx_validation.RowCheck(
                "identity_present", "not_null", "identity", "warn", "neither anonymousId nor userId"
            ),
            gx_validation.RowCheck(
                "type_known",
                "in_set",
                "type",
                "warn",
                "type outside the Segment spec",
                {"value_set": list(p["known_web_types"])},
            ),
            gx_validation.RowCheck(
                "track_event_known",
                "in_set",
                "track_event",
                "warn",
                "track event outside the known set",
                {"value_set": list(p["known_track_events"])},
            ),
            gx_validation.RowCheck(
                "identify_email_format",
                "regex",
                "identify_email",
                "warn",
                "malformed identify email",
                {"regex": p["email_regex"]},
            ),
        ],
    },
    "email": {
        "table": "raw.sendgrid_events",
        "columns": """sg_event_id, event, ts, sg_event_id || '|' || event as event_key,
            case when lower(trim(email)) not in ${blocked_identity_values} then trim(email) end as email""",
        "checks": lambda p: [
            *_event_row_errors(
                p,
                required={"sg_event_id": "no sg_event_id", "event": "no event", "ts": "no timestamp"},
                key=("event_key_unique", "event_key", "repeated (sg_event_id, event)"),
            ),
            gx_validation.RowCheck(
                "event_known",
                "in_set",
                "event",
                "warn",
                "event type outside the SendGrid set",
                {"value_set": list(p["known_sendgrid_events"])},
            ),
            gx_validation.RowCheck(
                "email_format", "regex", "email", "warn", "malformed email", {"regex": p["email_regex"]}
            ),
        ],
    },
}


def load_frame(
    con: duckdb.DuckDBPyConnection, source: str, params: dict[str, Any], since: datetime = NEVER
) -> tuple[Any, int]:
    """The rows of a source loaded after `since` as a pandas frame, and how many rows that is.

    A daily load is small; the first load is the whole history, so the frame is capped at
    `load_rows_max` rows (a reservoir sample): history-wide rules stay set-based SQL in the YAML suites.
    """
    spec = LOAD_SUITES[source]
    template = (
        LOAD_ROWS_SQL.replace("${columns}", spec["columns"])
        .replace("${table}", spec["table"])
        .replace("${outer}", spec.get("outer", "*"))
    )
    sql = render_sql(template, {**params, "since": since}, f"load suite {source}")
    total = con.sql(f"select count(*) from ({sql})").fetchall()[0][0]
    cap = int(params.get("load_rows_max", 200_000))
    if total > cap:
        sql = f"select * from ({sql}) using sample {cap} rows (reservoir, 42)"
    return con.sql(sql).df(), int(total)


def _newest_loaded_at(con: duckdb.DuckDBPyConnection, table: str) -> datetime | None:
    return con.sql(f"select max(_loaded_at) from {table}").fetchall()[0][0]


def _load_suite_results(
    con: duckdb.DuckDBPyConnection, context: Any, params: dict[str, Any], run_id: str
) -> tuple[list[SuiteResult], list[str], dict[str, datetime]]:
    """GX row validation of each source's rows not yet judged by a passing gate.

    Returns the results, the suite names and the watermarks this gate reaches (the newest
    `_loaded_at` per table when it started; the run holds the warehouse, so nothing loads meanwhile).
    A source with no new rows or no table is skipped.
    """
    results, names, watermarks = [], [], {}
    judged = store.rows_validated_through(con)
    for source, spec in LOAD_SUITES.items():
        table = spec["table"]
        if not relation_exists(con, table):
            continue
        started = time.perf_counter()
        name = f"raw_{source}_load"
        since = judged.get(table, NEVER)
        try:
            newest = _newest_loaded_at(con, table)
            frame, total = load_frame(con, source, params, since)
        except (duckdb.Error, QualityConfigError) as exc:
            first = (str(exc).splitlines() or [repr(exc)])[0]
            spec_ = SuiteSpec(name=name, stage="raw", description="", checks=[])
            results.append(_fail_suite(spec_, "measurable", "error", f"load rows query failed: {first}"))
            continue
        if newest is not None:
            watermarks[table] = newest
        if total == 0:
            continue
        label = f"the {source} rows loaded since the last passing gate" + (
            f" (a sample of {len(frame):,} of {total:,})" if total > len(frame) else ""
        )
        findings = gx_validation.validate_rows(
            context, "raw", name, frame, spec["checks"](params), run_id, label
        )
        results.append(SuiteResult("raw", name, findings, seconds=time.perf_counter() - started))
        names.append(name)
    return results, names, watermarks


def quality_dir(settings: Settings) -> Path:
    return settings.root / "quality"


def run_parameters(thresholds: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Thresholds plus the per-run values suites use (the sane window for timestamps)."""
    cutoff = (now + timedelta(days=float(thresholds["future_tolerance_days"]))).replace(
        second=0, microsecond=0
    )
    start = datetime.fromisoformat(str(thresholds["min_event_date"]))
    return {
        **thresholds,
        "future_cutoff": cutoff,
        "min_event_ts": start,
        "blocked_identity_values": [str(v).lower() for v in dbt_vars().get("blocked_identity_values", [])],
    }


def dbt_vars() -> dict[str, Any]:
    """dbt vars shared with the models (one definition of e.g. identity placeholders)."""
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    return project.get("vars") or {}


def _missing(con: duckdb.DuckDBPyConnection, spec: SuiteSpec) -> list[str]:
    return [r for r in spec.requires if not relation_exists(con, r)]


def _query_metrics(con: duckdb.DuckDBPyConnection, spec: SuiteSpec, params: dict[str, Any]) -> dict[str, Any]:
    sql = render_sql(spec.metrics_sql or "", params, f"suite {spec.name}")
    rel = con.sql(sql)
    rows = rel.fetchall()
    if len(rows) != 1:
        raise ValueError(f"metrics_sql returned {len(rows)} rows, expected 1")
    return dict(zip(rel.columns, rows[0], strict=True))


def _fail_suite(spec: SuiteSpec, check: str, severity: str, message: str) -> SuiteResult:
    return SuiteResult(
        spec.stage, spec.name, [Finding(spec.stage, spec.name, check, severity, False, message)]
    )


def _evaluate(
    context: Any, spec: SuiteSpec, metrics: dict[str, Any], params: dict[str, Any], run_id: str
) -> SuiteResult:
    started = time.perf_counter()
    values = {**params, **metrics}
    messages = {c.name: render_message(c.message, values) for c in spec.checks}
    findings = gx_validation.validate_metrics(context, spec, metrics, messages, run_id)
    return SuiteResult(spec.stage, spec.name, findings, seconds=time.perf_counter() - started)


def _yaml_suites(
    con: duckdb.DuckDBPyConnection, specs: list[SuiteSpec], params: dict[str, Any]
) -> tuple[list[tuple[SuiteSpec, dict[str, Any]]], list[SuiteResult]]:
    """Metrics of every YAML suite; suites that cannot be measured become failed results right away."""
    measured, failed = [], []
    for spec in specs:
        missing = _missing(con, spec)
        if missing:
            failed.append(
                _fail_suite(
                    spec,
                    "tables_exist",
                    spec.missing_severity,
                    f"{', '.join(missing)} missing; run `lifecycle ingest` and `lifecycle build` first",
                )
            )
            continue
        try:
            measured.append((spec, _query_metrics(con, spec, params)))
        except (duckdb.Error, ValueError, QualityConfigError) as exc:
            first = (str(exc).splitlines() or [repr(exc)])[0]
            failed.append(_fail_suite(spec, "measurable", "error", f"metrics query failed: {first}"))
    return measured, failed


def _run_gate(settings: Settings, stage: str, expectations_dir: Path = EXPECTATIONS_DIR) -> GateResult:
    started_at = runtime_suites.now_utc()
    run_id = f"{stage}-{started_at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    thresholds = load_thresholds(expectations_dir)
    params = run_parameters(thresholds, datetime.now(UTC).replace(tzinfo=None))
    specs = load_suites(stage, thresholds, expectations_dir)

    extra: list[tuple[SuiteSpec, dict[str, Any]]] = []
    if stage == "mart" and (dbt_tests := runtime_suites.dbt_tests_suite(settings)) is not None:
        extra.append(dbt_tests)

    context = gx_validation.gx_context(quality_dir(settings))
    result = GateResult(stage=stage, run_ids=[run_id])
    with open_warehouse(settings) as con:
        store.ensure_schema(con)
        con.execute(render_sql(LATEST_LOAD_MACRO, params, "latest_load macro"))
        measured, failed = _yaml_suites(con, specs, params)
        result.suite_results += failed
        if stage == "raw" and thresholds.get("check_source_freshness", True):
            extra.append(runtime_suites.freshness_suite(con))
        counts: dict[str, int] | None = None
        if stage == "mart":
            counts = runtime_suites.table_counts(con)
            previous = store.previous_passing_counts(con)
            builders = {
                "mart_rates": lambda: runtime_suites.rates_suite(con, thresholds),
                "mart_row_counts": lambda: runtime_suites.row_counts_suite(counts, previous, thresholds),
                "mart_audiences": lambda: runtime_suites.audiences_suite(settings, con),
            }
            for name, build in builders.items():
                try:
                    measured.append(build())
                except (duckdb.Error, LifecycleError) as exc:  # fail closed, naming the cause
                    first = (str(exc).splitlines() or [repr(exc)])[0]
                    spec = SuiteSpec(name=name, stage=stage, description="", checks=[])
                    result.suite_results.append(_fail_suite(spec, "measurable", "error", f"failed: {first}"))
        validated = [(spec, metrics) for spec, metrics in [*measured, *extra] if spec.checks]
        for spec, metrics in validated:
            result.suite_results.append(_evaluate(context, spec, metrics, params, run_id))
        row_suites: list[str] = []
        watermarks: dict[str, datetime] = {}
        if stage == "raw":
            load_results, row_suites, watermarks = _load_suite_results(con, context, params, run_id)
            result.suite_results += load_results
        try:
            result.data_docs_path = gx_validation.build_data_docs(
                context, quality_dir(settings), run_id, [spec.name for spec, _ in validated] + row_suites
            )
        except Exception as exc:  # docs are a report, not a gate: never block a run on rendering
            log.warning("GX Data Docs not built: %s", exc)
        store.record_run(con, run_id, result, started_at, runtime_suites.now_utc(), counts, watermarks)
    _log(result)
    return result


def _log(result: GateResult) -> None:
    try:
        from prefect import get_run_logger

        logger: Any = get_run_logger()
    except Exception:  # outside a flow run
        logger = log
    for f in result.failures:
        logger.error("quality %s", f)
    for f in result.warnings:
        logger.warning("quality %s", f)
    logger.info(result.summary_line())


def run_raw_gate(settings: Settings) -> GateResult:
    """Raw suites (expectations/raw_*.yml) plus dbt source freshness rules, on the ingested raw tables."""
    return _run_gate(settings, "raw")


def run_mart_gate(settings: Settings) -> GateResult:
    """Mart suites (expectations/mart_*.yml), rates, row counts, audiences and dbt test results."""
    return _run_gate(settings, "mart")


def run_gates(settings: Settings, stage: str = "all") -> GateResult:
    """`raw`, `mart` or `all` (both, combined into one verdict)."""
    if stage == "raw":
        return run_raw_gate(settings)
    if stage == "mart":
        return run_mart_gate(settings)
    if stage != "all":
        raise ValueError(f"unknown gate stage {stage!r}: use raw, mart or all")
    return GateResult.combine("all", [run_raw_gate(settings), run_mart_gate(settings)])
