"""Run the unchanged dbt project against the `postgres` target of dbt_project/profiles.yml.

The models are the same files DuckDB builds; engine differences live only in adapter-dispatched
macros (`dbt_project/macros/postgres/`). dbt Python models run on DuckDB only (dbt-postgres has no
Python runtime), so they and their descendants are excluded here and listed in the summary.

dbt artifacts go to `DIR/postgres/dbt_target`, apart from the DuckDB build's, so switching target
never invalidates the other's partial-parse state and the two can run one after the other.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from flows.portability.raw_copy import PostgresConnection
from flows.settings import Settings
from flows.transform.dbt import run_dbt

TARGET = "postgres"
# Environment run_dbt/configure_environment changes; restored afterwards so the caller's DuckDB
# settings stay in force.
_TOUCHED_ENV = (
    "PGHOST",
    "PGPORT",
    "PGUSER",
    "PGPASSWORD",
    "PGDATABASE",
    "LIFECYCLE_WAREHOUSE",
    "LIFECYCLE_DATA_DIR",
)


@dataclass
class EngineBuild:
    """What `dbt build --target <engine>` did on another engine (PostgreSQL here, Spark in
    dbt_spark.py): node statuses, what was built and what was left out."""

    statuses: dict[str, int] = field(default_factory=dict)
    excluded_python_models: list[str] = field(default_factory=list)
    # The Python models and every model downstream of them (not buildable without them).
    excluded_models: list[str] = field(default_factory=list)
    built: list[str] = field(default_factory=list)

    def counts(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in sorted(self.statuses.items()))

    def excluded(self) -> str:
        return ", ".join(self.excluded_python_models) or "none"


@dataclass
class PostgresBuild(EngineBuild):
    """What `dbt build --target postgres` did."""

    def __str__(self) -> str:
        return (
            f"dbt build on PostgreSQL: {self.counts()}; DuckDB-only Python models excluded: {self.excluded()}"
        )


def postgres_settings(settings: Settings) -> Settings:
    """Settings whose dbt target/log dirs are `DIR/postgres/...` (separate from the DuckDB build)."""
    return Settings(data_dir=settings.root / TARGET)


@contextlib.contextmanager
def postgres_environment(pg: PostgresConnection) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in _TOUCHED_ENV}
    os.environ.update(pg.as_env())
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def python_models(manifest: dict[str, Any]) -> list[str]:
    """Names of the project's dbt Python models (from a parsed manifest)."""
    return sorted(
        node["name"]
        for node in manifest.get("nodes", {}).values()
        if node.get("resource_type") == "model" and node.get("language") == "python"
    )


def downstream_models(manifest: dict[str, Any], names: list[str]) -> list[str]:
    """`names` and every model that depends on them, directly or not (from the manifest's child_map)."""
    nodes = manifest.get("nodes", {})
    children = manifest.get("child_map", {})
    todo = [
        uid for uid, node in nodes.items() if node.get("resource_type") == "model" and node["name"] in names
    ]
    seen: set[str] = set()
    while todo:
        uid = todo.pop()
        if uid in seen:
            continue
        seen.add(uid)
        todo.extend(c for c in children.get(uid, []) if c.startswith("model."))
    return sorted(nodes[uid]["name"] for uid in seen if uid in nodes)


def build_on_postgres(
    settings: Settings,
    pg: PostgresConnection,
    *,
    extra_args: list[str] | None = None,
    vars: dict[str, Any] | None = None,
) -> PostgresBuild:
    """`dbt parse` then `dbt build --target postgres`, excluding Python models and their children."""
    pg_settings = postgres_settings(settings)
    summary = PostgresBuild()
    with postgres_environment(pg):
        run_dbt(pg_settings, ["parse", "--target", TARGET], vars=vars)
        manifest = json.loads((pg_settings.dbt_target_dir / "manifest.json").read_text())
        summary.excluded_python_models = python_models(manifest)
        summary.excluded_models = downstream_models(manifest, summary.excluded_python_models)
        command = ["build", "--target", TARGET, *(extra_args or [])]
        if summary.excluded_python_models:
            command += ["--exclude", *(f"{name}+" for name in summary.excluded_python_models)]
        result = run_dbt(pg_settings, command, vars=vars)
    for r in getattr(result.result, "results", None) or []:
        status = str(getattr(r.status, "value", r.status))
        summary.statuses[status] = summary.statuses.get(status, 0) + 1
        if getattr(r.node, "resource_type", None) == "model":
            summary.built.append(r.node.name)
    summary.built.sort()
    return summary
