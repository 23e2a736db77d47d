"""Suites and thresholds of the quality gate, read from the reviewable files in `expectations/`.

A suite file says *what* is measured (one DuckDB query returning one row of metrics) and *what is
acceptable* (checks: a metric, bounds, a severity and a message). Keeping both in YAML means a reviewer
sees a threshold change in a diff, and analytics engineers tune thresholds without touching Python.
Thresholds live in `thresholds.yml`; any of them can be overridden for one run by an environment variable
`LIFECYCLE_QUALITY_<NAME>` (useful in CI or to loosen a gate while investigating).
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from flows.errors import LifecycleError
from flows.settings import EXPECTATIONS_DIR

THRESHOLDS_FILE = "thresholds.yml"
ENV_PREFIX = "LIFECYCLE_QUALITY_"
SEVERITIES = ("error", "warn")


class QualityConfigError(LifecycleError):
    """A suite or threshold file in expectations/ is malformed."""


@dataclass(frozen=True)
class CheckSpec:
    """One acceptance rule: `min <= metrics[metric] <= max` (a NULL metric passes: nothing to judge)."""

    name: str
    metric: str
    severity: str
    message: str | list[str]
    min: float | None = None
    max: float | None = None
    description: str = ""


@dataclass
class SuiteSpec:
    """A named set of checks over one row of metrics.

    `metrics_sql` (from YAML) or `metrics_fn` (generated suites) produces the metrics; `requires` lists
    relations that must exist, else the suite yields one `tables_exist` finding of `missing_severity`.
    """

    name: str
    stage: str
    description: str
    checks: list[CheckSpec]
    metrics_sql: str | None = None
    metrics_fn: Callable[[Any], dict[str, Any]] | None = None
    requires: list[str] = field(default_factory=list)
    missing_severity: str = "error"


def _coerce(raw: str, default: Any) -> Any:
    """Environment overrides arrive as text: parse them with YAML so numbers, lists and booleans work."""
    value = yaml.safe_load(raw)
    if isinstance(default, float) and isinstance(value, int):
        return float(value)
    return value


def load_thresholds(
    directory: Path = EXPECTATIONS_DIR, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    path = directory / THRESHOLDS_FILE
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise QualityConfigError(f"cannot read {path}: {exc}") from exc
    env = os.environ if environ is None else environ
    for key, default in list(values.items()):
        override = env.get(ENV_PREFIX + key.upper())
        if override is not None:
            values[key] = _coerce(override, default)
    return values


def sql_literal(value: Any) -> str:
    """Render a threshold as a DuckDB literal; lists become `('a', 'b')` for `in` lists."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        return f"timestamp '{value.isoformat(sep=' ')}'"
    if isinstance(value, date):
        return f"date '{value.isoformat()}'"
    if isinstance(value, list | tuple):
        return "(" + ", ".join(sql_literal(v) for v in value) + ")" if value else "(null)"
    text = str(value).replace("'", "''")
    return f"'{text}'"


def render_sql(template: str, params: Mapping[str, Any], where: str) -> str:
    try:
        return string.Template(template).substitute({k: sql_literal(v) for k, v in params.items()})
    except (KeyError, ValueError) as exc:
        raise QualityConfigError(f"{where}: unknown or malformed placeholder {exc}") from exc


def resolve_bound(value: Any, thresholds: Mapping[str, Any], where: str) -> float | None:
    """Bounds may be numbers or `${threshold_name}`."""
    if value is None:
        return None
    if isinstance(value, str):
        match = re.fullmatch(r"\$\{?(\w+)\}?", value.strip())
        if not match or match.group(1) not in thresholds:
            raise QualityConfigError(f"{where}: bound {value!r} is not a number or a known ${{threshold}}")
        value = thresholds[match.group(1)]
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise QualityConfigError(f"{where}: bound {value!r} is not a number") from exc


def parse_suite(raw: Mapping[str, Any], thresholds: Mapping[str, Any], source: str) -> SuiteSpec:
    for key in ("suite", "stage", "metrics_sql", "checks"):
        if key not in raw:
            raise QualityConfigError(f"{source}: missing key {key!r}")
    checks = []
    for i, c in enumerate(raw["checks"]):
        where = f"{source} check {c.get('name', i)!r}"
        severity = c.get("severity", "error")
        if severity not in SEVERITIES:
            raise QualityConfigError(f"{where}: severity must be one of {SEVERITIES}, not {severity!r}")
        if "name" not in c or "metric" not in c or "message" not in c:
            raise QualityConfigError(f"{where}: needs name, metric and message")
        checks.append(
            CheckSpec(
                name=c["name"],
                metric=c["metric"],
                severity=severity,
                message=c["message"],
                min=resolve_bound(c.get("min"), thresholds, where),
                max=resolve_bound(c.get("max"), thresholds, where),
                description=c.get("description", ""),
            )
        )
    return SuiteSpec(
        name=raw["suite"],
        stage=raw["stage"],
        description=raw.get("description", ""),
        checks=checks,
        metrics_sql=raw["metrics_sql"],
        requires=list(raw.get("requires", [])),
        missing_severity=raw.get("missing_severity", "error"),
    )


def load_suites(
    stage: str, thresholds: Mapping[str, Any], directory: Path = EXPECTATIONS_DIR
) -> list[SuiteSpec]:
    """Every `*.yml` suite of a stage (`raw` or `mart`), in file-name order for stable reports."""
    suites = []
    for path in sorted(directory.glob("*.yml")):
        if path.name == THRESHOLDS_FILE:
            continue
        try:
            raw = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise QualityConfigError(f"cannot parse {path}: {exc}") from exc
        if not isinstance(raw, dict):
            raise QualityConfigError(f"{path}: expected a mapping")
        if raw.get("stage") == stage:
            suites.append(parse_suite(raw, thresholds, path.name))
    return suites


class _MessageFormatter(string.Formatter):
    """Formats metrics into messages; a NULL or missing metric renders as `n/a` rather than crashing."""

    def get_value(self, key: Any, args: Any, kwargs: Any) -> Any:
        return kwargs.get(key) if isinstance(key, str) else super().get_value(key, args, kwargs)

    def format_field(self, value: Any, format_spec: str) -> str:
        if value is None:
            return "n/a"
        if isinstance(value, datetime):
            return value.strftime("%Y-%m-%d %H:%M UTC") if not format_spec else format(value, format_spec)
        try:
            return format(value, format_spec)
        except (TypeError, ValueError):
            return str(value)


_FORMATTER = _MessageFormatter()


def _first_field(template: str) -> str | None:
    for _, name, _, _ in _FORMATTER.parse(template):
        if name:
            return name
    return None


def render_message(message: str | list[str], values: Mapping[str, Any]) -> str:
    """A message is a template or a list of parts; parts whose first field is 0/NULL are left out.

    That keeps failure lines short and exact ("12,000 of 12,000 rows after ...") without Python in YAML.
    """
    if isinstance(message, str):
        return _FORMATTER.format(message, **values)
    kept = [p for p in message if (lead := _first_field(p)) is None or values.get(lead)]
    return "; ".join(_FORMATTER.format(p, **values) for p in (kept or message[:1]))
