"""Great Expectations: turns a suite's metrics row into a stored validation result and Data Docs.

Why one row of metrics instead of the tables themselves: pulling a 10-million-row table into pandas
costs far more than the dbt build, and GX's SQL path over duckdb-engine returns empty results. DuckDB
computes every measure in one set-based pass; GX validates the small frame, records the result with
the expectation, its bounds and its severity, and renders Data Docs. See DECISIONS.md.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from flows.quality.config import CheckSpec, SuiteSpec
from flows.quality.results import Finding

DATASOURCE = "lifecycle_quality"
DOCS_SITE = "lifecycle"
KEEP_RESULTS_PER_SUITE = 20
_SEVERITY = {"error": "critical", "warn": "warning"}

_contexts: dict[Path, Any] = {}
_lock = threading.Lock()


def gx_context(quality_dir: Path) -> Any:
    """A file context under DIR/quality/gx, created once per process (creation and import are slow)."""
    quality_dir = quality_dir.resolve()
    with _lock:
        if quality_dir in _contexts:
            return _contexts[quality_dir]
        import great_expectations as gx

        logging.getLogger("great_expectations").setLevel(logging.ERROR)
        quality_dir.mkdir(parents=True, exist_ok=True)
        context = gx.get_context(mode="file", project_root_dir=str(quality_dir))
        context.variables.progress_bars = {"globally": False, "metric_calculations": False}
        docs_dir = quality_dir / "data_docs"
        sites = context.variables.data_docs_sites or {}
        wanted = {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
        if set(sites) != {DOCS_SITE} or sites[DOCS_SITE] != wanted:
            context.variables.data_docs_sites = {DOCS_SITE: wanted}
            context.variables.save()
        _contexts[quality_dir] = context
        return context


_batch_definitions: dict[tuple[int, str], Any] = {}


def _batch_definition(context: Any, asset_name: str) -> Any:
    """The suite's whole-dataframe batch definition, created on first use and then reused.

    Why cached and looked up before adding: every `add_or_update_*` on a file context rewrites
    great_expectations.yml, which cost three config saves per suite on every gate run.
    """
    key = (id(context), asset_name)
    with _lock:
        if key in _batch_definitions:
            return _batch_definitions[key]
        try:
            datasource = context.data_sources.get(DATASOURCE)
        except (KeyError, LookupError, ValueError):
            datasource = context.data_sources.add_pandas(DATASOURCE)
        try:
            asset = datasource.get_asset(asset_name)
        except LookupError:
            asset = datasource.add_dataframe_asset(asset_name)
        try:
            batch_definition = asset.get_batch_definition("metrics")
        except (KeyError, LookupError):
            batch_definition = asset.add_batch_definition_whole_dataframe("metrics")
        _batch_definitions[key] = batch_definition
        return batch_definition


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return value


def _expectation(check: CheckSpec) -> Any:
    import great_expectations.expectations as gxe

    return gxe.ExpectColumnValuesToBeBetween(
        column=check.metric,
        min_value=check.min,
        max_value=check.max,
        severity=_SEVERITY[check.severity],
        description=check.description or check.name.replace("_", " "),
        meta={"check": check.name, "severity": check.severity},
    )


def validate_metrics(
    context: Any, spec: SuiteSpec, metrics: dict[str, Any], messages: dict[str, str], run_name: str
) -> list[Finding]:
    """Validate one metrics row with GX; the stored result feeds Data Docs, the findings feed the gate."""
    import great_expectations as gx
    import pandas as pd
    from great_expectations.core.run_identifier import RunIdentifier

    checks = [c for c in spec.checks if c.metric in metrics]
    findings = [
        Finding(
            spec.stage, spec.name, c.name, "error", False, f"metric {c.metric!r} not produced by the suite"
        )
        for c in spec.checks
        if c.metric not in metrics
    ]
    if not checks:
        return findings
    frame = pd.DataFrame([{c.metric: _plain(metrics[c.metric]) for c in checks}])
    frame = frame.astype({c.metric: "float64" for c in checks if _is_number_or_none(metrics[c.metric])})

    batch_definition = _batch_definition(context, spec.name)
    suite = context.suites.add_or_update(
        gx.ExpectationSuite(
            name=spec.name,
            expectations=[_expectation(c) for c in checks],
            meta={"stage": spec.stage, "description": spec.description},
        )
    )
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=spec.name, data=batch_definition, suite=suite)
    )
    result = definition.run(
        batch_parameters={"dataframe": frame},
        run_id=RunIdentifier(run_name=run_name, run_time=datetime.now(UTC)),
        # BASIC: success, unexpected count and the unexpected values (= the observed metric), which is
        # all a one-row frame has; SUMMARY's extra counts/index lists cost ~40% more graph work per check.
        result_format="BASIC",
    )
    by_name = {r.expectation_config.meta["check"]: r for r in result.results}
    for check in checks:
        gx_result = by_name.get(check.name)
        success = bool(gx_result.success) if gx_result is not None else False
        findings.append(
            Finding(
                stage=spec.stage,
                suite=spec.name,
                check=check.name,
                severity=check.severity,
                success=success,
                message=messages.get(check.name, "") if not success else "ok",
                observed=_plain(metrics[check.metric]),
                min_value=check.min,
                max_value=check.max,
            )
        )
    return findings


def _is_number_or_none(value: Any) -> bool:
    return value is None or (isinstance(value, int | float | Decimal) and not isinstance(value, bool))


def prune_results(context: Any, docs_dir: Path, keep: int = KEEP_RESULTS_PER_SUITE) -> None:
    """Keep the newest `keep` results per suite (and their rendered pages) so the store stays bounded."""
    import shutil

    store = context.validation_results_store
    by_suite: dict[str, list[Any]] = {}
    for key in store.list_keys():
        by_suite.setdefault(key.expectation_suite_identifier.name, []).append(key)
    for suite, keys in by_suite.items():
        keys.sort(key=lambda k: str(k.run_id.run_time), reverse=True)
        for old in keys[keep:]:
            store.remove_key(old)
            shutil.rmtree(docs_dir / "validations" / suite / str(old.run_id.run_name), ignore_errors=True)


def build_data_docs(context: Any, quality_dir: Path, run_name: str, suites: list[str]) -> Path:
    """Render only this run's results and suites (incremental), then the index of all kept runs."""
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    docs_dir = quality_dir.resolve() / "data_docs"
    prune_results(context, docs_dir)
    resources: list[Any] = [
        k for k in context.validation_results_store.list_keys() if str(k.run_id.run_name) == run_name
    ]
    resources += [ExpectationSuiteIdentifier(name=name) for name in suites]
    context.build_data_docs(site_names=[DOCS_SITE], resource_identifiers=resources)
    from flows.quality.store import make_data_docs_offline

    make_data_docs_offline(docs_dir)  # GX's pages load CSS/JS from CDNs; point them at vendored copies
    return docs_dir / "index.html"


@dataclass(frozen=True)
class RowCheck:
    """A GX column expectation over the rows of one load: `kind` names it, `kwargs` are its arguments.

    `mostly` mirrors a share threshold of the history-wide suite (e.g. at most 5% malformed emails),
    so judging the load never blocks what the history check lets through, and vice versa.
    """

    name: str
    kind: str
    column: str
    severity: str
    what: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    mostly: float = 1.0


_KINDS = {
    "not_null": "ExpectColumnValuesToNotBeNull",
    "regex": "ExpectColumnValuesToMatchRegex",
    "between": "ExpectColumnValuesToBeBetween",
    "in_set": "ExpectColumnValuesToBeInSet",
    "unique": "ExpectColumnValuesToBeUnique",
}


def validate_rows(
    context: Any, stage: str, suite_name: str, frame: Any, checks: list[RowCheck], run_name: str, label: str
) -> list[Finding]:
    """Validate the rows of one load (a pandas frame) with GX column expectations.

    Why rows and not a metrics row: GX then really judges the data, and its stored result (and so
    Data Docs) lists the failing values themselves (`partial_unexpected_list`, up to 20 per check).
    """
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.core.run_identifier import RunIdentifier

    expectations = [
        getattr(gxe, _KINDS[c.kind])(
            column=c.column,
            mostly=c.mostly,
            severity=_SEVERITY[c.severity],
            description=c.what,
            meta={"check": c.name, "severity": c.severity},
            **c.kwargs,
        )
        for c in checks
    ]
    batch_definition = _batch_definition(context, suite_name)
    suite = context.suites.add_or_update(
        gx.ExpectationSuite(
            name=suite_name, expectations=expectations, meta={"stage": stage, "description": label}
        )
    )
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=suite_name, data=batch_definition, suite=suite)
    )
    result = definition.run(
        batch_parameters={"dataframe": frame},
        run_id=RunIdentifier(run_name=run_name, run_time=datetime.now(UTC)),
        result_format={"result_format": "SUMMARY", "partial_unexpected_count": 20},
    )
    by_name = {r.expectation_config.meta["check"]: r for r in result.results}
    findings = []
    for check in checks:
        gx_result = by_name.get(check.name)
        success = bool(gx_result.success) if gx_result is not None else False
        details = (gx_result.result or {}) if gx_result is not None else {}
        bad = int(details.get("unexpected_count") or 0)
        distinct = dict.fromkeys(str(v) for v in details.get("partial_unexpected_list") or [])
        examples = ", ".join(list(distinct)[:5])
        message = "ok"
        if not success:
            message = f"{bad:,} of {len(frame):,} rows of {label}: {check.what}" + (
                f", e.g. {examples[:160]}" if examples else ""
            )
            if gx_result is None:
                message = f"{check.what}: GX returned no result"
        findings.append(
            Finding(stage, suite_name, check.name, check.severity, success, message, observed=bad)
        )
    return findings
