"""The run summary: what `lifecycle run` did, printed at the end and published as Prefect artifacts.

Why a module: the same facts (rows ingested and rejected, dbt nodes and tests, gate results,
audience sizes, where the files are) are wanted in two places, the terminal and the Prefect UI, and
the last printed line must say in one sentence whether the run is good and, if not, what failed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flows.settings import Settings

OK, FAILED, SKIPPED = "ok", "failed", "skipped"


@dataclass
class StepResult:
    name: str
    status: str  # ok | failed | skipped
    detail: str = ""
    seconds: float = 0.0


@dataclass
class RunSummary:
    """Everything one run did; `.ok` is True only if every step succeeded."""

    data_dir: str
    run_id: str = ""
    mode: str = "incremental"
    steps: list[StepResult] = field(default_factory=list)
    ingest_rows: list[dict[str, Any]] = field(default_factory=list)
    build_rows: list[dict[str, Any]] = field(default_factory=list)
    gate_rows: list[dict[str, Any]] = field(default_factory=list)
    sync_rows: list[dict[str, Any]] = field(default_factory=list)
    audience_rows: list[dict[str, Any]] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        # Skipped-by-design steps (sync in a replay) are fine; any failure is not.
        return any(s.status == OK for s in self.steps) and not any(s.status == FAILED for s in self.steps)

    def add(self, name: str, status: str, detail: str = "", seconds: float = 0.0) -> StepResult:
        result = StepResult(name, status, detail, seconds)
        self.steps.append(result)
        return result

    def first_failure(self) -> StepResult | None:
        return next((s for s in self.steps if s.status == FAILED), None)

    def final_line(self) -> str:
        if self.ok:
            published = self.links.get("published marts", "")
            done = sum(1 for s in self.steps if s.status == OK)
            return f"lifecycle run OK ({self.mode}): {done} steps passed; marts published to {published}"
        failure = self.first_failure()
        if failure is None:
            return "lifecycle run FAILED: no step ran"
        skipped = [s.name for s in self.steps if s.status == SKIPPED]
        tail = f"; skipped: {', '.join(skipped)}" if skipped else ""
        return f"lifecycle run FAILED at {failure.name}: {failure.detail}{tail}"

    def step_rows(self) -> list[dict[str, Any]]:
        return [
            {"step": s.name, "status": s.status, "seconds": round(s.seconds, 1), "detail": s.detail[:300]}
            for s in self.steps
        ]

    def to_markdown(self) -> str:
        parts = [f"# Lifecycle run {self.run_id} ({self.mode})", "", f"**{self.final_line()}**", ""]
        for title, rows in (
            ("Steps", self.step_rows()),
            ("Ingest", self.ingest_rows),
            ("dbt build", self.build_rows),
            ("Quality gates", self.gate_rows),
            ("Activation", self.sync_rows),
            ("Audiences", self.audience_rows),
        ):
            if rows:
                parts += [f"## {title}", "", _md_table(rows), ""]
        if self.links:
            parts += ["## Files", ""] + [f"- {k}: `{v}`" for k, v in self.links.items()] + [""]
        return "\n".join(parts)

    def __str__(self) -> str:
        lines = ["", "Run summary"]
        width = max((len(s.name) for s in self.steps), default=8)
        for s in self.steps:
            detail = s.detail.splitlines()[0][:140] if s.detail else ""
            lines.append(f"  {s.name:<{width}}  {s.status:<7} {s.seconds:6.1f}s  {detail}")
        if self.audience_rows:
            sizes = ", ".join(f"{r['segment']}({r['destination']})={r['rows']}" for r in self.audience_rows)
            lines.append(f"  audiences: {sizes}")
        for k, v in self.links.items():
            lines.append(f"  {k}: {v}")
        lines.append(self.final_line())
        return "\n".join(lines)


def _md_table(rows: list[dict[str, Any]]) -> str:
    cols = list(dict.fromkeys(k for r in rows for k in r))
    head = "| " + " | ".join(cols) + " |"
    sep = "|" + "|".join("---" for _ in cols) + "|"
    body = [
        "| " + " | ".join(str(r.get(c, "")).replace("|", "\\|").replace("\n", " ") for c in cols) + " |"
        for r in rows
    ]
    return "\n".join([head, sep, *body])


def rows_of(obj: Any) -> list[dict[str, Any]]:
    """Rows from another area's summary object: its `to_rows()` if it has one, else its text."""
    if obj is None:
        return []
    to_rows = getattr(obj, "to_rows", None)
    if callable(to_rows):
        rows = to_rows()
        return [dict(r) if isinstance(r, dict) else {"value": str(r)} for r in rows]
    return [{"summary": str(obj)}]


def audience_sizes(settings: Settings) -> list[dict[str, Any]]:
    """Sizes of the audience files written by activation, read from their manifests (SPEC 8)."""
    out: list[dict[str, Any]] = []
    for manifest in sorted(settings.outbound_dir.glob("*/*/manifest.json")):
        try:
            data = json.loads(manifest.read_text())
        except (OSError, ValueError):
            continue
        counts = data.get("row_counts") or data.get("counts") or {}
        rows = counts.get("latest", counts.get("rows")) if isinstance(counts, dict) else counts
        out.append(
            {
                "destination": manifest.parent.parent.name,
                "segment": data.get("segment", manifest.parent.name),
                "rows": rows if rows is not None else data.get("rows", ""),
                "adds": counts.get("adds", "") if isinstance(counts, dict) else "",
                "removes": counts.get("removes", "") if isinstance(counts, dict) else "",
                "file": str(manifest.parent),
            }
        )
    return out


def publish_artifacts(summary: RunSummary) -> None:
    """Create the Prefect artifacts for a run (call inside the flow run)."""
    from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

    create_markdown_artifact(
        markdown=summary.to_markdown(), key="lifecycle-run-summary", description=summary.final_line()
    )
    create_table_artifact(table=summary.step_rows(), key="lifecycle-run-steps", description="steps")
    for key, rows, title in (
        ("lifecycle-ingest", summary.ingest_rows, "rows ingested and rejected per source"),
        ("lifecycle-dbt-build", summary.build_rows, "dbt models built and tests"),
        ("lifecycle-gates", summary.gate_rows, "data quality gate results"),
        ("lifecycle-audiences", summary.audience_rows, "audience sizes"),
    ):
        if rows:
            create_table_artifact(table=_jsonable(rows), key=key, description=title)
    for name, target in summary.links.items():
        path = Path(target)
        link = path.as_uri() if path.is_absolute() else target
        create_link_artifact(link=link, link_text=name, description=f"{name}: {target}")


def _jsonable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {k: v if isinstance(v, int | float | str | bool) or v is None else str(v) for k, v in r.items()}
        for r in rows
    ]
