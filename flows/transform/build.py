"""dbt build as a Prefect flow: one dbt invocation, every node's result reported, no task per node.

Why this shape: a build is ~355 nodes, most of them data tests under half a second; one Prefect task
per node (prefect-dbt's runner) cost more than the SQL (issue 20, DECISIONS.md "dbt nodes grouped").
The flow runs dbt once, so a failed node still marks only its downstream nodes as skipped, and
reports each node in the `lifecycle-dbt-nodes` table artifact, a log line per layer and per failed
node, and dbt's own run_results.json. Artifacts and logs stay in the data dir (`--target-path
DIR/dbt_target`) because other processes run dbt on the same project at the same time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from prefect import flow, get_run_logger

from flows.errors import LifecycleError
from flows.progress import step
from flows.settings import Settings
from flows.transform.dbt import invoke_dbt
from flows.transform.run_guard import warehouse_guard

_FAILED = {"error", "fail", "runtime error"}


@dataclass
class BuildSummary:
    """What a dbt build did, counted from dbt's own run results."""

    ok: bool
    command: str
    models: int = 0
    seeds: int = 0
    snapshots: int = 0
    tests_passed: int = 0
    tests_warned: int = 0
    tests_failed: int = 0
    unit_tests: int = 0
    skipped: int = 0
    failures: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    def to_rows(self) -> list[dict[str, Any]]:
        return [
            {"item": "models built", "count": self.models},
            {"item": "seeds loaded", "count": self.seeds},
            {"item": "snapshots", "count": self.snapshots},
            {"item": "tests passed", "count": self.tests_passed},
            {"item": "tests warned", "count": self.tests_warned},
            {"item": "tests failed", "count": self.tests_failed},
            {"item": "unit tests", "count": self.unit_tests},
            {"item": "nodes skipped", "count": self.skipped},
        ]

    def summary_line(self) -> str:
        state = "ok" if self.ok else "FAILED"
        line = (
            f"dbt {self.command} {state}: {self.models} models, {self.seeds} seeds, "
            f"{self.snapshots} snapshots, "
            f"{self.tests_passed} tests passed, {self.tests_warned} warned, {self.tests_failed} failed, "
            f"{self.skipped} skipped in {self.elapsed_s:.0f}s"
        )
        if self.failures:
            line += f"; failed: {', '.join(self.failures[:8])}"
        return line

    def __str__(self) -> str:
        return self.summary_line()


def summarize_results(command: str, results: list[Any], elapsed_s: float, success: bool) -> BuildSummary:
    """Count dbt node results by type and status (plain function: unit-testable)."""
    s = BuildSummary(ok=success, command=command, elapsed_s=elapsed_s)
    for r in results:
        node = getattr(r, "node", None)
        rtype = str(getattr(node, "resource_type", "")).lower().replace("nodetype.", "")
        status = str(getattr(r, "status", "")).lower().replace("runstatus.", "").replace("teststatus.", "")
        name = getattr(node, "name", "?")
        if status in _FAILED:
            s.failures.append(f"{rtype} {name} ({status})")
            if rtype in ("test", "unit_test"):
                s.tests_failed += 1
            continue
        if status == "skipped":
            s.skipped += 1
            continue
        if rtype == "model":
            s.models += 1
        elif rtype == "seed":
            s.seeds += 1
        elif rtype == "snapshot":
            s.snapshots += 1
        elif rtype == "unit_test":
            s.unit_tests += 1
        elif rtype == "test":
            if status == "warn":
                s.tests_warned += 1
            else:
                s.tests_passed += 1
    if s.failures:
        s.ok = False
    return s


@dataclass(frozen=True)
class NodeResult:
    """One dbt node's outcome, as the Prefect artifact and the log lines show it."""

    unique_id: str
    resource_type: str
    layer: str
    status: str
    seconds: float
    message: str

    def to_row(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "node": self.unique_id,
            "type": self.resource_type,
            "status": self.status,
            "seconds": round(self.seconds, 3),
            "message": self.message[:300],
        }


def _clean(value: Any, prefixes: tuple[str, ...]) -> str:
    text = str(value).lower()
    for prefix in prefixes:
        text = text.replace(prefix, "")
    return text


def node_results(results: list[Any]) -> list[NodeResult]:
    """dbt's per-node results as plain rows, failures first (what to look at first), then by layer.

    The layer is the folder under models/ (staging, intermediate, marts), which dbt puts second in a
    node's fqn, for models and for the data tests defined in that folder's yml; seeds, snapshots and
    singular tests fall back to their resource type.
    """
    rows = []
    for r in results:
        node = getattr(r, "node", None)
        rtype = _clean(getattr(node, "resource_type", ""), ("nodetype.",))
        fqn = list(getattr(node, "fqn", None) or [])
        layer = fqn[1] if len(fqn) > 2 and rtype in ("model", "test", "unit_test") else rtype
        status = _clean(getattr(r, "status", ""), ("runstatus.", "teststatus.", "nodestatus."))
        message = getattr(r, "message", None) or ""
        rows.append(
            NodeResult(
                unique_id=str(getattr(node, "unique_id", getattr(node, "name", "?"))),
                resource_type=rtype,
                layer=layer,
                status=status,
                seconds=float(getattr(r, "execution_time", 0.0) or 0.0),
                message=str(message) if status in _FAILED or status == "warn" else "",
            )
        )
    order = {s: 0 for s in _FAILED} | {"warn": 1, "skipped": 2}
    return sorted(rows, key=lambda n: (order.get(n.status, 3), n.layer, n.unique_id))


def layer_lines(nodes: list[NodeResult]) -> list[str]:
    """One line per layer: how many nodes of each status and their summed dbt time."""
    by_layer: dict[str, list[NodeResult]] = {}
    for n in nodes:
        by_layer.setdefault(n.layer, []).append(n)
    lines = []
    for layer in sorted(by_layer):
        group = by_layer[layer]
        counts: dict[str, int] = {}
        for n in group:
            counts[n.status] = counts.get(n.status, 0) + 1
        states = ", ".join(f"{c} {s}" for s, c in sorted(counts.items()))
        lines.append(f"dbt {layer}: {len(group)} nodes ({states}) in {sum(n.seconds for n in group):.1f}s")
    return lines


def _invoke(settings: Settings, command: list[str], vars: dict[str, Any] | None) -> Any:
    """Run the whole dbt command as ONE invocation in this flow run (no Prefect task per node).

    Why: prefect-dbt's runner made a Prefect task per node (355 in a build), each with its own
    state reports, log forwarding and context hydration; 280+ of them are data tests under half a
    second, so the per-node Prefect floor cost more than the SQL. One invocation keeps dbt's own
    semantics exactly (a failed node skips only its descendants, threads, ordering) and every node's
    result stays visible: the `lifecycle-dbt-nodes` artifact, one log line per layer and per failed
    or warned node, an INFO line per other node, and dbt's run_results.json in DIR/dbt_target.
    """
    level = "info" if settings.debug else "warn"
    with step(f"dbt {command[0]}") as progress:

        def _advance(event: Any) -> None:  # dbt worker threads; only counts, never raises
            name = event.info.name
            if name == "NodeFinished":
                progress.advance()
            elif name == "LogStartLine" and progress.total is None:
                # dbt's "N of M START ..." line carries M, the number of selected nodes of this
                # invocation: the bar reads done/total from the first node on (not "23/?").
                total = int(getattr(event.data, "total", 0) or 0)
                if total:
                    progress.set_total(total)

        return invoke_dbt(settings, command, vars, callbacks=[_advance], extra=["--log-level", level])


def _report_nodes(nodes: list[NodeResult], debug: bool) -> None:
    """Log lines and the per-node table artifact (best effort: outside a flow run only the logs)."""
    logger = get_run_logger()
    for line in layer_lines(nodes):
        logger.info(line)
    for n in nodes:
        if n.status in _FAILED:
            logger.error("dbt %s %s (%s): %s", n.resource_type, n.unique_id, n.status, n.message[:400])
        elif n.status == "warn":
            logger.warning("dbt %s %s (warn): %s", n.resource_type, n.unique_id, n.message[:400])
        else:  # every node in the Prefect UI's Logs tab (issue 16 item 4); the terminal shows none
            logger.info("dbt %s %s %s in %.2fs", n.resource_type, n.unique_id, n.status, n.seconds)
    try:
        from prefect.artifacts import create_table_artifact

        create_table_artifact(
            key="lifecycle-dbt-nodes",
            table=[n.to_row() for n in nodes],
            description="Every dbt node of this build: layer, status, dbt seconds, message (failures first)",
        )
    except Exception as exc:  # an artifact is a report: never fail a build on it
        logger.warning("dbt node artifact not written: %s", exc)


@flow(name="dbt-build", log_prints=True)
def dbt_build_flow(
    settings: Settings,
    full_refresh: bool = False,
    select: str | None = None,
    vars: dict[str, Any] | None = None,
    unit_tests: bool | None = None,
) -> BuildSummary:
    """`dbt build` (seeds, models, snapshots, data tests) for one data dir; raises when any node fails.

    dbt unit tests run only when asked (`unit_tests`, default `settings.dbt_unit_tests`): their inputs
    are fixed, so a scheduled build would pay for the same answer every run (DECISIONS.md).
    """
    logger = get_run_logger()
    command = ["build"]
    if full_refresh:
        command.append("--full-refresh")
    if select:
        command += ["--select", select]
    if not (settings.dbt_unit_tests if unit_tests is None else unit_tests):
        command += ["--exclude-resource-type", "unit_test"]
    started = time.monotonic()
    with warehouse_guard(settings):
        res = _invoke(settings, command, vars)
    if res.exception is not None:  # dbt itself crashed (parse/compile error, broken profile)
        lines = [ln.strip() for ln in str(res.exception).splitlines() if ln.strip()]
        raise LifecycleError(
            f"dbt build crashed: {' '.join(lines[:2])[:400]}", hint=f"logs in {settings.root / 'dbt_logs'}"
        )
    results = list(getattr(getattr(res, "result", None), "results", None) or [])
    summary = summarize_results("build", results, time.monotonic() - started, bool(res.success))
    _report_nodes(node_results(results), settings.debug)
    logger.info(summary.summary_line())
    if not summary.ok:
        raise LifecycleError(summary.summary_line(), hint=f"logs in {settings.root / 'dbt_logs'}")
    return summary
