"""Metric glossary generated from the dbt docs, so definitions live in one place (the model YAML).

Every KPI column in `dbt_project/models/marts/kpi/_kpi__models.yml` carries
`meta: {metric: <name>, grain: <grain>}` and a description. This module reads them from the dbt
manifest of the data dir (`DIR/dbt_target/manifest.json`, written by any build or parse) and writes
`DIR/reports/glossary.md` and `glossary.json` next to the KPI report. When no manifest exists yet it
runs `dbt parse` (cheap, no warehouse access) to produce one.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from flows.errors import LifecycleError
from flows.settings import Settings

GLOSSARY_FIELDS = ("name", "definition", "grain", "mart", "column")

# Pairs of numbers that look alike but count different things; the KPI report shows these first.
# Why here: the per-column definitions come from the dbt docs, but how two of them differ is a
# statement about both, which no single column's description makes.
LOOKALIKES: list[tuple[str, str]] = [
    (
        "Leads (ever) vs the acquisition stage",
        "Leads counts everyone who ever gave an email or a lead signal (dim_persons.is_lead); the "
        "acquisition stage counts those who are leads today and have not ordered yet. Leads who "
        "ordered moved on to conversion or later, so leads is the larger number.",
    ),
    (
        "New leads vs leads",
        "New leads entered acquisition in the period (mart_funnel); leads is the all-time count.",
    ),
    (
        "New customers (funnel) vs new customers (channels)",
        "The funnel counts every first order in the period; the channel table counts those same "
        "customers under the channel of their first touch, in their first-order month.",
    ),
    (
        "First-order revenue vs first-touch revenue vs last-touch revenue",
        "First-order revenue (channel table, ROI) is the net revenue of new customers' first orders; "
        "first-touch revenue (attribution) is their net revenue to date; last-touch revenue credits "
        "each order to the last touch in the 30 days before it.",
    ),
    (
        "Net revenue vs gross revenue",
        "Gross is the order totals; net subtracts refunds, netted into the period of the refunded order.",
    ),
    (
        "Historical CLV vs predicted 12-month CLV",
        "Historical CLV is a customer's net revenue to as_of; predicted CLV is what BG/NBD and "
        "Gamma-Gamma expect over the next 52 weeks.",
    ),
    (
        "Partial period",
        "The month or week containing as_of is not over; the report shades it and compares this "
        "month to date with the same days of last month, never with a whole month.",
    ),
]


def manifest_path(settings: Settings) -> Path:
    return settings.dbt_target_dir / "manifest.json"


def _load_manifest(settings: Settings) -> dict[str, Any]:
    path = manifest_path(settings)
    if not path.is_file():
        from flows.transform.dbt import run_dbt

        run_dbt(settings, ["parse"])
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise LifecycleError(
            f"cannot read the dbt manifest {path}: {exc}", hint="run `lifecycle build` first"
        ) from exc


def glossary_from_manifest(manifest: dict[str, Any]) -> list[dict[str, str]]:
    """One entry per column whose `meta.metric` is set, sorted by metric name then mart."""
    entries: list[dict[str, str]] = []
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") != "model":
            continue
        model_meta = node.get("meta") or node.get("config", {}).get("meta") or {}
        for column in (node.get("columns") or {}).values():
            meta = column.get("meta") or column.get("config", {}).get("meta") or {}
            metric = meta.get("metric")
            if not metric:
                continue
            entries.append(
                {
                    "name": str(metric),
                    "definition": " ".join(str(column.get("description") or "").split()),
                    "grain": str(meta.get("grain") or model_meta.get("grain") or ""),
                    "mart": f"{node.get('schema', 'marts')}.{node['name']}",
                    "column": str(column["name"]),
                }
            )
    entries.sort(key=lambda e: (e["name"].lower(), e["mart"], e["column"]))
    return entries


def build_glossary(settings: Settings) -> list[dict[str, str]]:
    """The glossary entries (name, definition, grain, mart, column) of the current dbt project."""
    entries = glossary_from_manifest(_load_manifest(settings))
    if not entries:
        raise LifecycleError(
            "the dbt manifest has no KPI columns with meta.metric",
            hint="check dbt_project/models/marts/kpi/_kpi__models.yml",
        )
    return entries


def render_markdown(entries: list[dict[str, str]]) -> str:
    def cell(value: str) -> str:
        return value.replace("|", "\\|")

    lines = [
        "# Metric glossary",
        "",
        "Generated from the dbt docs (`meta.metric` on KPI mart columns). Rates are NULL when their "
        "denominator is 0.",
        "",
        "| metric | definition | grain | mart | column |",
        "|---|---|---|---|---|",
    ]
    for e in entries:
        lines.append(
            f"| {cell(e['name'])} | {cell(e['definition'])} | {cell(e['grain'])} "
            f"| `{e['mart']}` | `{e['column']}` |"
        )
    return "\n".join(lines) + "\n"


def _write_atomic(path: Path, text: str) -> None:
    """Temp file + rename, so a reader never sees half a glossary."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_glossary(settings: Settings) -> Path:
    """Write DIR/reports/glossary.md and glossary.json; returns the markdown path."""
    entries = build_glossary(settings)
    settings.reports_dir.mkdir(parents=True, exist_ok=True)
    md_path = settings.reports_dir / "glossary.md"
    _write_atomic(settings.reports_dir / "glossary.json", json.dumps(entries, indent=2) + "\n")
    _write_atomic(md_path, render_markdown(entries))
    return md_path
