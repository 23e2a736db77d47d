"""Prefect wiring of the gates: thin on purpose, the logic is in `gates` (plain, unit-tested).

No retries: a gate reads a local DuckDB file and a failing check is an answer, not a transient error.
"""

from __future__ import annotations

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.quality.gates import run_mart_gate, run_raw_gate
from flows.quality.results import GateResult
from flows.settings import Settings


@task(name="raw-gate", cache_policy=NO_CACHE)
def raw_gate_task(settings: Settings) -> GateResult:
    return run_raw_gate(settings)


@task(name="mart-gate", cache_policy=NO_CACHE)
def mart_gate_task(settings: Settings) -> GateResult:
    return run_mart_gate(settings)


@flow(name="check", validate_parameters=False)
def check_flow(settings: Settings, stage: str = "all") -> GateResult:
    """`lifecycle check`: raw and/or mart gates, one combined verdict (both run so all problems show)."""
    if stage not in ("raw", "mart", "all"):
        raise ValueError(f"unknown gate stage {stage!r}: use raw, mart or all")
    results = []
    if stage in ("raw", "all"):
        results.append(raw_gate_task(settings))
    if stage in ("mart", "all"):
        results.append(mart_gate_task(settings))
    return results[0] if len(results) == 1 else GateResult.combine("all", results)
