"""Suites whose checks depend on what exists at run time, so they cannot be static YAML.

- `mart_rates`: every rate column in schema `marts` (found by name) lies in [0, 1];
- `mart_row_counts`: no mart shrinks more than `row_count_max_shrink` since the last passing run;
- `mart_audiences`: each segment audience has one row per person and address and no suppressed email;
- `dbt_tests`: the last dbt build's test results (dbt tests cover model logic; both feed one gate);
- `raw_freshness`: dbt source freshness rules, measured in DuckDB (stale sources warn, never fail).

Each builder returns a SuiteSpec plus its metrics row, validated by GX like the YAML suites.
"""

from __future__ import annotations

import importlib
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import yaml

from flows.errors import LifecycleError
from flows.quality.config import CheckSpec, SuiteSpec
from flows.settings import DBT_PROJECT_DIR, Settings
from flows.warehouse import fetch_all, quote_ident, relation_exists

log = logging.getLogger(__name__)

NUMERIC_TYPES = ("DOUBLE", "FLOAT", "REAL", "INTEGER", "BIGINT", "HUGEINT", "SMALLINT", "TINYINT")
SUPPRESSIONS = "intermediate.int_email_suppressions"


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name)


def mart_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = fetch_all(
        con,
        "select table_name from information_schema.tables where table_schema = 'marts' order by table_name",
    )
    return [r[0] for r in rows]


def rates_suite(con: duckdb.DuckDBPyConnection, thresholds: Mapping[str, Any]) -> tuple[SuiteSpec, dict]:
    rows = fetch_all(
        con,
        """
        select table_name, column_name
        from information_schema.columns
        where table_schema = 'marts'
          and regexp_matches(column_name, ?)
          and (data_type in ? or data_type like 'DECIMAL%')
        order by table_name, column_name
        """,
        [thresholds["rate_column_regex"], list(NUMERIC_TYPES)],
    )
    # Email rates may exceed 1 on real input (an open whose delivered event was quarantined, a click
    # with images blocked): for those tables a rate above 1 warns and only a negative rate blocks,
    # as the dbt tests kpi_rate(at_most_one=false) + kpi_rate_at_most_one do (DECISIONS.md).
    above_one_warns = re.compile(str(thresholds.get("rate_above_one_warns_regex") or "(?!)"))
    checks: list[CheckSpec] = []
    selects: list[str] = []
    for table, column in rows:
        metric = f"{_safe(table)}__{_safe(column)}"
        col = quote_ident(column)
        rel = f"marts.{quote_ident(table)}"
        stats = (
            f"(select count(*) from {rel}) as {metric}__rows, "
            f"(select min({col}) from {rel}) as {metric}__min, "
            f"(select max({col}) from {rel}) as {metric}__max"
        )
        bounds = f"min {{{metric}__min}}, max {{{metric}__max}}"
        if not above_one_warns.search(table):
            selects.append(f"(select count_if({col} < 0 or {col} > 1) from {rel}) as {metric}, {stats}")
            checks.append(
                CheckSpec(
                    name=f"{table}.{column}_in_0_1",
                    metric=metric,
                    severity="error",
                    max=0,
                    message=(
                        f"{{{metric}:,}} of {{{metric}__rows:,}} rows of marts.{table}.{column} lie outside "
                        f"[0, 1] ({bounds})"
                    ),
                )
            )
            continue
        selects.append(
            f"(select count_if({col} < 0) from {rel}) as {metric}, "
            f"(select count_if({col} > 1) from {rel}) as {metric}__above_one, {stats}"
        )
        checks.append(
            CheckSpec(
                name=f"{table}.{column}_not_negative",
                metric=metric,
                severity="error",
                max=0,
                message=(
                    f"{{{metric}:,}} of {{{metric}__rows:,}} rows of marts.{table}.{column} are negative "
                    f"({bounds})"
                ),
            )
        )
        checks.append(
            CheckSpec(
                name=f"{table}.{column}_at_most_one",
                metric=f"{metric}__above_one",
                severity="warn",
                max=0,
                message=(
                    f"{{{metric}__above_one:,}} of {{{metric}__rows:,}} rows of marts.{table}.{column} lie "
                    f"above 1 ({bounds}): more opens, clicks or reports than deliveries (events quarantined?)"
                ),
            )
        )
    metrics = dict(zip(_columns_of(con, selects), _row_of(con, selects), strict=True)) if selects else {}
    spec = SuiteSpec(
        name="mart_rates",
        stage="mart",
        description=(
            "Every rate column in schema marts (by name) lies in [0, 1], NULL allowed; email marts: "
            "never negative, above 1 warns."
        ),
        checks=checks,
    )
    return spec, metrics


def _row_of(con: duckdb.DuckDBPyConnection, selects: list[str]) -> tuple:
    return fetch_all(con, "select " + ", ".join(selects))[0]


def _columns_of(con: duckdb.DuckDBPyConnection, selects: list[str]) -> list[str]:
    rel = con.sql("select " + ", ".join(selects) + " limit 0")
    return list(rel.columns)


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    tables = mart_tables(con)
    if not tables:
        return {}
    union = " union all ".join(
        f"select '{t}' as name, count(*) as n from marts.{quote_ident(t)}" for t in tables
    )
    return {f"marts.{name}": int(n) for name, n in fetch_all(con, union)}


def row_counts_suite(
    counts: dict[str, int], previous: dict[str, int], thresholds: Mapping[str, Any]
) -> tuple[SuiteSpec, dict]:
    """Shrink = 1 - now / previous passing count; a dropped table counts as shrunk to nothing."""
    min_previous = int(thresholds["row_count_min_previous"])
    max_shrink = float(thresholds["row_count_max_shrink"])
    checks, metrics = [], {}
    for table, before in sorted(previous.items()):
        if before < min_previous:
            continue
        now = counts.get(table, 0)
        metric = _safe(table)
        metrics[metric] = 1 - now / before
        metrics[f"{metric}__now"] = now
        metrics[f"{metric}__before"] = before
        checks.append(
            CheckSpec(
                name=f"{table.removeprefix('marts.')}_not_collapsed",
                metric=metric,
                severity="error",
                max=max_shrink,
                message=(
                    f"{table} has {{{metric}__now:,}} rows, {{{metric}__before:,}} in the last passing run "
                    f"({{{metric}:.0%}} fewer; at most {max_shrink:.0%} allowed)"
                ),
            )
        )
    spec = SuiteSpec(
        name="mart_row_counts",
        stage="mart",
        description="Marts do not collapse run-over-run against the last passing mart gate.",
        checks=checks,
    )
    return spec, metrics


def _unavailable(name: str, stage: str, description: str, reason: str) -> tuple[SuiteSpec, dict]:
    check = CheckSpec(name="checked", metric="unchecked", severity="warn", max=0, message=reason)
    return SuiteSpec(name=name, stage=stage, description=description, checks=[check]), {"unchecked": 1}


def audiences_suite(settings: Settings, con: duckdb.DuckDBPyConnection) -> tuple[SuiteSpec, dict]:
    """Re-checks what activation is about to send, independently of how activation filtered it."""
    description = "Audience lists: one row per person and per address, no suppressed email."
    try:
        audiences_module = importlib.import_module("flows.activation.audiences")
    except ImportError as exc:
        return _unavailable(
            "mart_audiences",
            "mart",
            description,
            f"audiences not checked: flows.activation.audiences ({exc})",
        )
    try:
        audiences = audiences_module.compute_audiences(settings, con)
    except (LifecycleError, duckdb.Error) as exc:
        check = CheckSpec(
            name="computable",
            metric="failed",
            severity="error",
            max=0,
            message=f"audiences cannot be computed: {str(exc).splitlines()[0] if str(exc) else exc!r}",
        )
        return SuiteSpec("mart_audiences", "mart", description, [check]), {"failed": 1}
    has_suppressions = relation_exists(con, SUPPRESSIONS)
    checks: list[CheckSpec] = []
    metrics: dict[str, Any] = {}
    for segment, frame in sorted(audiences.items()):
        metric = _safe(segment)
        name = f"audience_{metric}"
        con.register(name, frame)
        try:
            cols = set(frame.columns)
            person = "a.person_id" if "person_id" in cols else "null"
            email = "lower(trim(a.email))" if "email" in cols else "null"
            suppressed = (
                f"(select count(distinct {email}) from {name} as a join {SUPPRESSIONS} as s "
                f"on lower(trim(s.email)) = {email})"
                if has_suppressions and "email" in cols
                else "null"
            )
            row = fetch_all(
                con,
                f"""
                select
                    count(*),
                    count({person}) - count(distinct {person}),
                    count({email}) - count(distinct {email}),
                    {suppressed}
                from {name} as a
                """,
            )[0]
        finally:
            con.unregister(name)
        rows, dup_persons, dup_emails, n_suppressed = row
        metrics |= {
            f"{metric}__rows": rows,
            f"{metric}__duplicates": (dup_persons or 0) + (dup_emails or 0),
            f"{metric}__duplicate_persons": dup_persons,
            f"{metric}__duplicate_emails": dup_emails,
            f"{metric}__suppressed": n_suppressed,
        }
        checks += [
            CheckSpec(
                name=f"{segment}.no_duplicates",
                metric=f"{metric}__duplicates",
                severity="error",
                max=0,
                message=(
                    f"segment {segment}: {{{metric}__duplicate_persons:,}} repeated person_ids and "
                    f"{{{metric}__duplicate_emails:,}} repeated emails in {{{metric}__rows:,}} rows"
                ),
            ),
            CheckSpec(
                name=f"{segment}.no_suppressed_emails",
                metric=f"{metric}__suppressed",
                severity="error",
                max=0,
                message=(
                    f"segment {segment}: {{{metric}__suppressed:,}} suppressed addresses "
                    f"(in {SUPPRESSIONS}) in {{{metric}__rows:,}} rows"
                ),
            ),
        ]
    if not has_suppressions:
        metrics["suppressions_missing"] = 1
        checks.append(
            CheckSpec(
                name="suppressions_available",
                metric="suppressions_missing",
                severity="warn",
                max=0,
                message=f"{SUPPRESSIONS} does not exist: suppressed addresses not checked",
            )
        )
    return SuiteSpec("mart_audiences", "mart", description, checks), metrics


def dbt_tests_suite(settings: Settings) -> tuple[SuiteSpec, dict] | None:
    """The latest dbt build/test results from DIR/dbt_target/run_results.json, if there are any."""
    path = settings.dbt_target_dir / "run_results.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if (data.get("args") or {}).get("which") not in ("build", "test"):
        return None
    failed, warned = [], []
    for r in data.get("results", []):
        uid = r.get("unique_id", "")
        status = r.get("status")
        if status in ("fail", "error", "runtime error"):
            failed.append(_node_name(uid))
        elif status == "warn":
            warned.append(_node_name(uid))
    generated = (data.get("metadata") or {}).get("generated_at", "?")
    metrics = {
        "failed": len(failed),
        "warned": len(warned),
        "failed_names": ", ".join(failed[:5]),
        "warned_names": ", ".join(warned[:5]),
    }
    checks = [
        CheckSpec(
            name="tests_pass",
            metric="failed",
            severity="error",
            max=0,
            message=f"{{failed}} dbt nodes failed in the build of {generated}: {{failed_names}}",
        ),
        CheckSpec(
            name="tests_without_warnings",
            metric="warned",
            severity="warn",
            max=0,
            message=f"{{warned}} dbt tests warned in the build of {generated}: {{warned_names}}",
        ),
    ]
    spec = SuiteSpec(
        name="dbt_tests",
        stage="mart",
        description="dbt tests (model logic) of the latest dbt build.",
        checks=checks,
    )
    return spec, metrics


def _node_name(unique_id: str) -> str:
    """`test.lifecycle.unique_x.3f2a` -> `unique_x`; `model.lifecycle.dim_persons` -> `dim_persons`."""
    parts = unique_id.split(".")
    return parts[2] if parts[0] == "test" and len(parts) >= 3 else parts[-1]


PERIOD_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
# dbt reports an empty source as loaded in year 1; kept so `_age` renders it as "no rows" the same way.
EMPTY_LOADED_AT = datetime(1, 1, 1)


@dataclass(frozen=True)
class SourceFreshness:
    """One dbt source table with a freshness rule, as declared in a `_*__sources.yml` file."""

    unique_id: str
    relation: str
    loaded_at_field: str
    warn_after: float | None
    error_after: float | None
    filter: str | None = None

    def status(self, age: float) -> str:
        """dbt's rule: error past `error_after`, else warn past `warn_after`, else pass."""
        if self.error_after is not None and age > self.error_after:
            return "error"
        if self.warn_after is not None and age > self.warn_after:
            return "warn"
        return "pass"


def _threshold(rule: Any) -> float | None:
    if not isinstance(rule, Mapping) or rule.get("count") is None or rule.get("period") is None:
        return None
    return float(rule["count"]) * PERIOD_SECONDS[str(rule["period"])]


def source_freshness_rules(project_dir: Path = DBT_PROJECT_DIR) -> list[SourceFreshness]:
    """Freshness rules of every source table, read from the dbt project's sources yml files.

    Same inheritance as dbt: a table's `loaded_at_field`/`freshness` override its source's, and
    `freshness: null` on a table switches it off. Sorted by unique_id, the order dbt writes them in.
    """
    rules = []
    for path in sorted((project_dir / "models").glob("**/_*__sources.yml")):
        doc = yaml.safe_load(path.read_text()) or {}
        for source in doc.get("sources") or []:
            src_config = source.get("config") or {}
            src_fresh = source.get("freshness", src_config.get("freshness"))
            src_field = source.get("loaded_at_field", src_config.get("loaded_at_field"))
            schema = source.get("schema", source["name"])
            for table in source.get("tables") or []:
                config = table.get("config") or {}
                fresh = table.get("freshness", config.get("freshness", src_fresh))
                field = table.get("loaded_at_field", config.get("loaded_at_field", src_field))
                if not fresh or not field:
                    continue
                warn, error = _threshold(fresh.get("warn_after")), _threshold(fresh.get("error_after"))
                if warn is None and error is None:
                    continue
                rules.append(
                    SourceFreshness(
                        unique_id=f"source.lifecycle.{source['name']}.{table['name']}",
                        relation=f"{schema}.{table.get('identifier', table['name'])}",
                        loaded_at_field=field,
                        warn_after=warn,
                        error_after=error,
                        filter=fresh.get("filter"),
                    )
                )
    return sorted(rules, key=lambda r: r.unique_id)


def _freshness_result(con: duckdb.DuckDBPyConnection, rule: SourceFreshness, now: datetime) -> dict:
    """One sources.json-like result: status and age of the newest `loaded_at_field` value."""
    schema, _, table = rule.relation.partition(".")
    where = f" where {rule.filter}" if rule.filter else ""
    try:
        rows = fetch_all(
            con, f"select max({rule.loaded_at_field}) from {quote_ident(schema)}.{quote_ident(table)}{where}"
        )
    except duckdb.Error:  # missing table or column: dbt reports the source as a runtime error
        return {"unique_id": rule.unique_id, "status": "runtime error"}
    newest = rows[0][0] if rows and rows[0][0] is not None else EMPTY_LOADED_AT
    if isinstance(newest, date) and not isinstance(newest, datetime):
        newest = datetime(newest.year, newest.month, newest.day)
    if newest.tzinfo is not None:  # naive timestamps are UTC, as dbt assumes
        newest = newest.astimezone(UTC).replace(tzinfo=None)
    age = (now - newest).total_seconds()
    return {"unique_id": rule.unique_id, "status": rule.status(age), "max_loaded_at_time_ago_in_s": age}


def freshness_suite(
    con: duckdb.DuckDBPyConnection, project_dir: Path = DBT_PROJECT_DIR
) -> tuple[SuiteSpec, dict]:
    """dbt source freshness, measured in DuckDB; a stale or unmeasurable source only warns.

    Why not `dbt source freshness`: importing and invoking dbt cost ~12 s of every raw gate for seven
    `max()` queries. The rules (`loaded_at_field`, `freshness`) are still the ones declared in the dbt
    sources yml, evaluated with dbt's semantics, and the findings read as dbt's did. See DECISIONS.md.
    """
    description = "dbt source freshness of the raw sources (loaded_at_field + freshness in the sources yml)."
    try:
        rules = source_freshness_rules(project_dir)
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError) as exc:
        first = (str(exc).splitlines() or [repr(exc)])[0]
        return _unavailable("raw_freshness", "raw", description, f"source freshness not checked: {first}")
    now = now_utc()
    results = [_freshness_result(con, rule, now) for rule in rules]
    stale = [
        f"{r['unique_id'].split('.', 2)[-1]} ({r.get('status')}, "
        f"{_age(r.get('max_loaded_at_time_ago_in_s'))})"
        for r in results
        if r.get("status") != "pass"
    ]
    metrics = {"stale": len(stale), "sources": len(results), "stale_names": ", ".join(stale[:6])}
    check = CheckSpec(
        name="sources_fresh",
        metric="stale",
        severity="warn",
        max=0,
        message="{stale} of {sources} sources are stale: {stale_names}",
    )
    return SuiteSpec("raw_freshness", "raw", description, [check]), metrics


def _age(seconds: Any) -> str:
    if not isinstance(seconds, int | float) or seconds > 100 * 365 * 86400:  # dbt: empty = year 1
        return "no rows"
    return (
        f"last load {seconds / 3600:.0f} h ago"
        if seconds < 172800
        else f"last load {seconds / 86400:.0f} d ago"
    )


def now_utc() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
