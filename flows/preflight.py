"""Configuration checks that run before any Prefect server starts (issue 16 item 5).

Why a module of its own: a mistake in segments.yml, a quality threshold or a dbt var used to surface
only after the 15-20 s a temporary Prefect server takes to start, or halfway through a run. Every
check here is a plain file read (YAML, no DuckDB, no Prefect import), so a config error reaches the
user in well under 3 s, as one line that names the file and what to fix.
"""

from __future__ import annotations

import numbers
from pathlib import Path
from typing import Any

import yaml

from flows.errors import LifecycleError
from flows.settings import EXPECTATIONS_DIR, Settings

# Which command reads which configuration. `run` and `serve` read everything the pipeline reads.
SEGMENT_COMMANDS = frozenset({"run", "sync", "serve", "deploy"})
QUALITY_COMMANDS = frozenset({"run", "check", "publish", "serve", "deploy"})
DBT_COMMANDS = frozenset({"run", "build", "serve", "deploy"})

_NUMERIC_VAR_HINT = "a non-negative number"


class DbtVarsError(LifecycleError):
    """dbt_project.yml's `vars:` holds a value the models cannot use."""


def check_segments(settings: Settings, segments: list[str] | None = None) -> None:
    """segments.yml parses and validates; named segments exist."""
    from flows.activation.config import load_config

    config = load_config(settings.segments_file)
    if segments:
        config.select(segments)


def check_quality(expectations_dir: Path = EXPECTATIONS_DIR) -> None:
    """thresholds.yml (with its LIFECYCLE_QUALITY_* overrides) and every suite resolve."""
    from flows.quality.config import load_suites, load_thresholds

    thresholds = load_thresholds(expectations_dir)
    for stage in ("raw", "mart"):
        load_suites(stage, thresholds, expectations_dir)


def check_dbt_vars(project_file: Path) -> None:
    """Every threshold default in dbt_project.yml's `vars:` is a non-negative number.

    Text there (a typo such as `90d`) would otherwise fail minutes later, deep in a dbt model, with a
    cast error that names neither the var nor the file.
    """
    try:
        doc = yaml.safe_load(project_file.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{project_file.name} line {mark.line + 1}" if mark else project_file.name
        raise DbtVarsError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    values: Any = doc.get("vars") or {}
    if not isinstance(values, dict):
        raise DbtVarsError(f"{project_file.name}: `vars` must be a mapping of name -> value")
    for name in _NUMERIC_VARS:
        value = values.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, numbers.Number) or value < 0:
            raise DbtVarsError(
                f"{project_file.name}: var {name!r} is {value!r}", hint=f"it must be {_NUMERIC_VAR_HINT}"
            )


# The SPEC 5-8 thresholds: counts of days, orders, points or a share; each must stay a number.
_NUMERIC_VARS = (
    "at_risk_days",
    "churn_days",
    "loyalty_min_orders",
    "qualified_score",
    "lead_score_window_days",
    "lead_score_cap",
    "max_users_per_anonymous_id",
    "attribution_window_days",
    "lead_conversion_window_days",
    "email_attribution_window_days",
    "cross_sell_min_support",
    "upsell_engagement_days",
    "onboarding_days",
    "bad_csat_suppression_days",
)


# Sources with an API mode (SPEC 4.3): only Zendesk tickets.
API_SOURCES = ("tickets", "all")


def check_ingest_api(settings: Settings, source: str, api: bool) -> None:
    """`ingest --api` only where an API exists, and only with every credential it needs, named."""
    if not api:
        return
    if source not in API_SOURCES:
        raise LifecycleError(
            f"--api: source {source!r} has no API mode, only files in DIR/raw/{source}/",
            hint="only tickets (Zendesk) has one: `lifecycle ingest tickets --api`; drop --api for files",
        )
    missing = [
        name
        for name, value in (
            ("ZENDESK_SUBDOMAIN", settings.zendesk_subdomain or settings.zendesk_base_url),
            ("ZENDESK_EMAIL", settings.zendesk_email),
            ("ZENDESK_API_TOKEN", settings.zendesk_api_token),
        )
        if not value
    ]
    if missing:
        raise LifecycleError(
            f"ingest --api: {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set",
            hint="set them in the environment or .env (Zendesk API token authentication)",
        )


def validate_config(
    settings: Settings,
    command: str,
    segments: list[str] | None = None,
    source: str = "all",
    api: bool = False,
) -> None:
    """Everything `command` will read, checked now; raises the first problem as a LifecycleError."""
    if command == "ingest":
        check_ingest_api(settings, source, api)
    if command in SEGMENT_COMMANDS:
        check_segments(settings, segments if command == "sync" else None)
    if command in QUALITY_COMMANDS:
        check_quality()
    if command in DBT_COMMANDS:
        check_dbt_vars(settings.dbt_project_dir / "dbt_project.yml")
